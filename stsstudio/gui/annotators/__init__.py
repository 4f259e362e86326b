"""The Annotators menu and the agreement panel."""
