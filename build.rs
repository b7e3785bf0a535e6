//! Embeds every rule file of `rules/` into the binary, so that `hassec` needs
//! nothing beside itself at run time, and fingerprints the sources so that the
//! results cache never serves what an older build found.

use std::{
    env, fs,
    hash::{DefaultHasher, Hasher},
    path::Path,
};

fn main() {
    let rules_dir = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("rules");
    println!("cargo:rerun-if-changed={}", rules_dir.display());

    let mut files: Vec<_> = fs::read_dir(&rules_dir)
        .expect("rules/ directory")
        .map(|entry| entry.expect("readable rules/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();

    let mut out = String::from("/// Every file of `rules/`, as (file name, contents).\n");
    out.push_str("pub static RULE_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().unwrap().to_str().unwrap();
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("rule_files.rs"),
        out,
    )
    .unwrap();

    let root = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).to_path_buf();
    println!("cargo:rerun-if-changed={}", root.join("src").display());
    let mut hasher = DefaultHasher::new();
    hash_tree(&root, &root.join("src"), &mut hasher);
    hash_tree(&root, &rules_dir, &mut hasher);
    println!(
        "cargo:rustc-env=HASSEC_SOURCE_HASH={:016x}",
        hasher.finish()
    );
}

/// Feeds every file under `dir` (its path relative to `root`, and its bytes), in a
/// fixed order, to `hasher`: std's SipHash with its fixed keys, so the same sources
/// give the same value wherever they are checked out.
fn hash_tree(root: &Path, dir: &Path, hasher: &mut DefaultHasher) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("readable source directory")
        .map(|entry| entry.expect("readable entry").path())
        .collect();
    entries.sort();
    for path in entries {
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            hash_tree(root, &path, hasher);
        } else {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            hasher.write(relative.to_string_lossy().as_bytes());
            hasher.write(&fs::read(&path).expect("readable source file"));
        }
    }
}
