//! Helpers for the black-box tests: start the annals binary, make fresh databases.
