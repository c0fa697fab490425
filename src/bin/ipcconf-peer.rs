//! The peer helper: a separate program that checks start with only a role and a
//! name (path, /name, key, pid), so "unrelated process" means unrelated.
fn main() {
    std::process::exit(ipc_conformance::peer::serve::main());
}
