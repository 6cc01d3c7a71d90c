"""Vendor presets: mapping files (TOML) shipped with crm, one per vendor layout."""
