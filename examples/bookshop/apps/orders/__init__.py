"""The orders app: places orders against the catalog and notifies about them."""
