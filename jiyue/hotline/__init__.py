"""12345 hotline exchange: letters pushed to and received from a 12345 platform as signed work orders."""
