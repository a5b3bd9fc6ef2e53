//! `tenet completions SHELL` and `tenet man`, generated from the clap definitions.

use std::process::Command;

fn tenet(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn every_shell_gets_a_script_naming_the_commands() {
    let (code, bash) = tenet(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(bash.contains("complete -F _tenet"), "{bash}");
    for cmd in ["check", "lint", "fmt", "lsp", "completions"] {
        assert!(bash.contains(cmd), "bash completion lacks `{cmd}`");
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let (code, script) = tenet(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(script.contains("check") && script.contains("policy"), "{shell}: {script}");
    }
    let (code, _) = tenet(&["completions", "tcsh"]);
    assert_eq!(code, 2);
}

#[test]
fn the_man_page_has_name_and_synopsis() {
    let (code, man) = tenet(&["man"]);
    assert_eq!(code, 0);
    assert!(man.starts_with(".ie") || man.contains(".TH tenet"), "{man}");
    assert!(man.contains(".SH NAME") && man.contains(".SH SYNOPSIS"), "{man}");
    assert!(man.contains("tenet\\-check") || man.contains("check"), "{man}");
}
