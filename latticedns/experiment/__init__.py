"""Run files and their execution (on top of the models, protocol and propagator)."""

from .config import RunSpec, load_run_file, parse_run_document, set_dotted
from .execute import build_model, execute_run, execute_runs, parameters_of, protocol_options

__all__ = ["RunSpec", "load_run_file", "parse_run_document", "set_dotted", "build_model",
           "execute_run", "execute_runs", "parameters_of", "protocol_options"]
