//! The firmware example, run on the host: the same purchase code as the
//! Cortex-M build approves the recorded CDA card offline.

use std::process::Command;

#[test]
fn the_no_std_purchase_is_approved_offline_with_cda() {
    let output = Command::new(env!("CARGO_BIN_EXE_emv-kernel-no-std-example"))
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("decision Approved, cryptogram Some(Tc), ODA Succeeded"),
        "{stdout}"
    );
}
