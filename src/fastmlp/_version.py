# The one place the version is written: pyproject.toml reads it (scikit-build-core's
# regex metadata provider) and fastmlp.__version__ is this.
__version__ = "0.1.0"
