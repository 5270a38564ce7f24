"""Pure Polars transforms: frames in, frames out. No I/O, no Airflow, no clock."""
