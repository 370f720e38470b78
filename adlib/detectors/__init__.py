"""One module per family of detectors."""
