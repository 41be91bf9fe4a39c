"""Storage service: binary data and large step data in a local folder or an S3 bucket."""
