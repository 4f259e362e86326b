"""STS Studio: label sentence-pair similarity and fine-tune sentence-transformers models."""

__version__ = "0.1.0"
APP_NAME = "STS Studio"
APP_ID = "io.github.stsstudio.StsStudio"
