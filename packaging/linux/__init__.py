"""Linux desktop files (.desktop, AppStream metainfo, MIME type), shipped as ``stsstudio.resources.linux``."""
