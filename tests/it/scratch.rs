//! The one scratch directory of the integration tests.
//!
//! `scratch("shape")` called from `tests/it/cli.rs` creates a fresh, empty directory
//! `$TMPDIR/tenet-cli-shape-XXXXXX` and returns a guard that removes it, with everything in
//! it (FIFOs, the hostile-input tests' huge files, a leftover `.tenet-*.tmp`), when it is
//! dropped. Keep the guard alive for as long as the directory is used — also by the
//! processes a test spawns — by binding it (`let dir = scratch(..)`, not `let _ = ..`) or by
//! returning it from helpers.
//!
//! When the test fails (the guard is dropped while the thread panics), the directory is kept
//! and its path printed, so that what the failing test wrote can be looked at.

use std::ffi::OsStr;
use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A scratch directory, removed when dropped unless the test is failing.
pub struct Scratch(Option<tempfile::TempDir>);

/// A fresh, empty scratch directory named after the calling test module and `name`.
#[track_caller]
pub fn scratch(name: &str) -> Scratch {
    let module = Path::new(std::panic::Location::caller().file()).file_stem().and_then(OsStr::to_str).unwrap_or("it");
    let prefix = format!("tenet-{}-{name}-", module.replace('_', "-"));
    let dir = tempfile::Builder::new().prefix(&prefix).tempdir().unwrap_or_else(|e| {
        panic!("cannot create a scratch directory {prefix}* in {}: {e}", std::env::temp_dir().display())
    });
    Scratch(Some(dir))
}

impl Scratch {
    /// The directory.
    pub fn path(&self) -> &Path {
        self.0.as_ref().map(tempfile::TempDir::path).expect("the directory lives until the guard is dropped")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some(dir) = self.0.take() else { return };
        if std::thread::panicking() {
            let kept: PathBuf = dir.keep();
            eprintln!("test failed: its scratch directory is kept for inspection: {}", kept.display());
        }
        // Otherwise `dir` is dropped here, which removes the directory and everything in it.
    }
}

impl Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<OsStr> for Scratch {
    fn as_ref(&self) -> &OsStr {
        self.path().as_os_str()
    }
}

impl fmt::Debug for Scratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path().fmt(f)
    }
}

#[test]
fn a_scratch_directory_is_removed_with_its_guard_and_kept_when_the_test_fails() {
    let dir = scratch("self");
    let path = dir.to_path_buf();
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("tenet-scratch-self-"), "{name}");
    std::fs::write(dir.join("f"), "x").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/g"), "y").unwrap();
    drop(dir);
    assert!(!path.exists(), "{} is left behind", path.display());

    // A guard dropped while its thread panics leaves the directory in place.
    let kept = std::thread::spawn(|| {
        let dir = scratch("failing");
        let path = dir.to_path_buf();
        std::fs::write(dir.join("evidence"), "z").unwrap();
        std::panic::panic_any(path);
    })
    .join()
    .unwrap_err();
    let kept = kept.downcast::<PathBuf>().unwrap();
    assert!(kept.join("evidence").is_file(), "{} was removed", kept.display());
    std::fs::remove_dir_all(*kept).unwrap();
}
