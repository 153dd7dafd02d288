//! Chooses QEMU's accelerator for `--accel auto|kvm|tcg`.
//!
//! `auto` picks KVM only when the CPU advertises hardware virtualisation
//! (`vmx` or `svm` in the `flags` line of `/proc/cpuinfo`) *and* `/dev/kvm`
//! opens read-write. The first test matters on machines whose `/dev/kvm` is
//! a software hypervisor (e.g. `kvm-pvm` in nested clouds): the device opens,
//! but a guest that does not speak its paravirtual ABI runs slowly and
//! incompletely there, so TCG is the right choice (see DESIGN.md).

use std::fs;

use crate::config::{Accel, AccelChoice};

/// Resolves `choice` against this machine.
pub fn resolve(choice: AccelChoice) -> Accel {
    match choice {
        AccelChoice::Kvm => Accel::Kvm,
        AccelChoice::Tcg => Accel::Tcg,
        AccelChoice::Auto => {
            let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            // Only probe /dev/kvm when the CPU could back it.
            resolve_with(choice, &cpuinfo, || kvm_device_usable("/dev/kvm"))
        }
    }
}

/// [`resolve`] with the machine facts passed in (for tests).
pub fn resolve_with(
    choice: AccelChoice,
    cpuinfo: &str,
    kvm_usable: impl FnOnce() -> bool,
) -> Accel {
    match choice {
        AccelChoice::Kvm => Accel::Kvm,
        AccelChoice::Tcg => Accel::Tcg,
        AccelChoice::Auto if cpu_has_virt(cpuinfo) && kvm_usable() => Accel::Kvm,
        AccelChoice::Auto => Accel::Tcg,
    }
}

/// Whether any `flags` line of a `/proc/cpuinfo` text lists `vmx` or `svm`.
pub fn cpu_has_virt(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim() == "flags")
        .any(|(_, v)| v.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

/// Whether `path` opens read-write (what QEMU needs for `-accel kvm`).
pub fn kvm_device_usable(path: &str) -> bool {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTEL: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\n\
        flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep vmx smx est\n\
        vmx flags\t: vnmi preemption_timer\n\nprocessor\t: 1\n";
    const AMD: &str = "processor\t: 0\nflags\t\t: fpu sse sse2 svm npt\n";
    const PVM: &str = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae hypervisor avx2\n\
        bugs\t\t: spectre_v1 vmx_thing\n";

    #[test]
    fn virt_flags() {
        assert!(cpu_has_virt(INTEL));
        assert!(cpu_has_virt(AMD));
        assert!(!cpu_has_virt(PVM));
        assert!(!cpu_has_virt(""));
        // "vmx flags" is a different key; "vmx_thing" is not "vmx".
        assert!(!cpu_has_virt("vmx flags\t: vnmi\nflags : fpu\n"));
    }

    #[test]
    fn auto_needs_both_cpu_flag_and_device() {
        assert_eq!(resolve_with(AccelChoice::Auto, INTEL, || true), Accel::Kvm);
        assert_eq!(resolve_with(AccelChoice::Auto, AMD, || true), Accel::Kvm);
        assert_eq!(resolve_with(AccelChoice::Auto, INTEL, || false), Accel::Tcg);
        // A /dev/kvm without vmx/svm (kvm-pvm) is not used, nor even probed.
        assert_eq!(
            resolve_with(AccelChoice::Auto, PVM, || panic!("probed /dev/kvm")),
            Accel::Tcg
        );
    }

    #[test]
    fn explicit_choice_wins() {
        assert_eq!(resolve_with(AccelChoice::Kvm, PVM, || false), Accel::Kvm);
        assert_eq!(resolve_with(AccelChoice::Tcg, INTEL, || true), Accel::Tcg);
    }

    #[test]
    fn this_machine_resolves() {
        // Whatever the machine, resolving must not fail; on the project's
        // machines (kvm-pvm, no vmx/svm) it is TCG.
        let a = resolve(AccelChoice::Auto);
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        if !cpu_has_virt(&cpuinfo) {
            assert_eq!(a, Accel::Tcg);
        }
        assert!(!kvm_device_usable("/nonexistent/kvm"));
    }
}
