"""One thread per pytest-xdist worker, shared by the unit tests (conftest) and the notebook run (nbval plugin)."""
import os

THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
ONE_XLA_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def one_thread_per_worker() -> None:
    """Under ``-n 2`` on two cores, give TensorFlow, JAX and BLAS one thread in each worker (and in the kernels it
    starts, which inherit the environment), so that the workers do not fight over the cores."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        for name in THREAD_VARIABLES:
            os.environ.setdefault(name, "1")
        # JAX's CPU client reads no thread variable: XLA's own flags (kept beside any the caller set)
        if "intra_op_parallelism_threads" not in os.environ.get("XLA_FLAGS", ""):
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + ONE_XLA_THREAD).strip()
