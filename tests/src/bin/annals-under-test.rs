//! The `annals` command line, for the black-box tests of this package.

fn main() -> anyhow::Result<()> {
    annals_api::cli::main()
}
