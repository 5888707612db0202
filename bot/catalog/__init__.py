"""Reading movie catalogs and ratings from files into canonical tables (pure pandas)."""
