//! The `annals` command line, for the black-box tests of this package.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    annals_api::cli::main()
}
