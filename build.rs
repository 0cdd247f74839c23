//! Embeds the facts a signed driver update is matched against: the target triple this
//! teld was built for (a driver build for another triple is refused before download).

fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=TELD_HOST_TRIPLE={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
