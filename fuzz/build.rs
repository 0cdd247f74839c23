//! Links `src/trace_pc.c` into the targets that can reach cfitsio (everything that
//! links the daemon crate), as an object file so the linker cannot leave it out.

fn main() {
    println!("cargo::rerun-if-changed=src/trace_pc.c");
    let objects = cc::Build::new().file("src/trace_pc.c").opt_level(2).compile_intermediates();
    for bin in ["inbox_fits", "config", "request_json"] {
        for o in &objects {
            println!("cargo::rustc-link-arg-bin={bin}={}", o.display());
        }
    }
}
