"""profile torch -- NCHW execution with PyTorch-layout weights and every
fix -- reproduces Keras: every activation of every fixture model, mapped back
to Keras's layout, matches the tfjs-layers reference within 1e-5 relative,
exactly as the faithful run must (test_exec.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import test_exec  # noqa: E402

if __name__ == "__main__":
    # save activations writes the run's own layout; map it back for the oracle
    test_exec.main(prefix=("profile torch",), tag="[profile torch] ")
