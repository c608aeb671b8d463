//! `annals`: the event-sourced control plane for container registries.

/// mimalloc: the event path allocates many small JSON values; glibc's allocator spent a tenth
/// of replay time consolidating them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    annals_api::cli::main()
}
