"""Static lists: CSVs of contacts imported as Parquet lists in the lake, which segments refer to."""
