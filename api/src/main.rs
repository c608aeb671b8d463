//! `annals`: the event-sourced control plane for container registries.

fn main() -> anyhow::Result<()> {
    annals_api::cli::main()
}
