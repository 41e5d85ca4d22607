//! The VHD footer (Microsoft's Virtual Hard Disk Image Format Specification): the last 512
//! bytes of a fixed VHD. Azure takes only fixed disks whose virtual size is a whole number of
//! MiB, so a disk that breaks either rule is refused before anything is written.

use crate::steps::StepError;

/// The footer's size, and the size of the file's tail that holds it.
pub const FOOTER: usize = 512;

const MIB: u64 = 1024 * 1024;

/// Checks the footer of the VHD `label`, whose content is `size` bytes and ends with
/// `footer`: the `conectix` cookie, a fixed disk, the checksum, a current size of the
/// content less the footer, and that size a whole number of MiB.
pub fn check_footer(label: &str, footer: &[u8], size: u64) -> Result<(), StepError> {
    let bad = |problem: String| Err(StepError::invalid(format!("{label}: {problem}")));
    if footer.len() < FOOTER || size < FOOTER as u64 {
        return bad(format!(
            "{size} bytes is too small for a VHD (a {FOOTER}-byte footer and a disk)"
        ));
    }
    let footer = &footer[footer.len() - FOOTER..];
    if &footer[..8] != b"conectix" {
        return bad("not a VHD: the last 512 bytes do not start with the 'conectix' cookie".into());
    }
    let be32 = |at: usize| u32::from_be_bytes(footer[at..at + 4].try_into().expect("4 bytes"));
    let (stored, computed) = (be32(64), checksum(footer));
    if stored != computed {
        return bad(format!(
            "the VHD footer's checksum is {stored:#010x}, its bytes give {computed:#010x}: the footer is corrupt"
        ));
    }
    match be32(60) {
        2 => {}
        3 => return bad("a dynamic VHD; Azure takes fixed VHDs only".into()),
        4 => return bad("a differencing VHD; Azure takes fixed VHDs only".into()),
        other => return bad(format!("disk type {other} is not a fixed VHD (2)")),
    }
    let current = u64::from_be_bytes(footer[48..56].try_into().expect("8 bytes"));
    let disk = size - FOOTER as u64;
    if current != disk {
        return bad(format!(
            "the VHD footer says the disk is {current} bytes, the file holds {disk} before its footer"
        ));
    }
    if disk == 0 || disk % MIB != 0 {
        return bad(format!(
            "the disk is {disk} bytes, not a whole number of MiB as Azure requires"
        ));
    }
    Ok(())
}

/// A valid footer of a fixed disk of `disk` bytes (for tests and fixtures).
pub fn fixed_footer(disk: u64) -> [u8; FOOTER] {
    let mut f = [0u8; FOOTER];
    f[..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes()); // features
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes()); // format version
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes()); // data offset: none
    f[28..32].copy_from_slice(b"vmpu"); // creator application
    f[40..48].copy_from_slice(&disk.to_be_bytes()); // original size
    f[48..56].copy_from_slice(&disk.to_be_bytes()); // current size
    f[60..64].copy_from_slice(&2u32.to_be_bytes()); // fixed
    seal(&mut f);
    f
}

/// The checksum a footer must carry: the one's complement of the sum of its bytes but the
/// checksum's own (64..68).
fn checksum(footer: &[u8]) -> u32 {
    let sum: u32 = footer
        .iter()
        .enumerate()
        .filter(|(i, _)| !(64..68).contains(i))
        .map(|(_, b)| u32::from(*b))
        .sum();
    !sum
}

/// Writes a footer's checksum into it, after its fields changed (for tests and fixtures).
pub fn seal(footer: &mut [u8; FOOTER]) {
    let sum = checksum(footer);
    footer[64..68].copy_from_slice(&sum.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISK: u64 = 2 * MIB;

    fn check(footer: &[u8], size: u64) -> Option<String> {
        check_footer("s3://staging/d/rhel.vhd", footer, size)
            .err()
            .map(|e| e.message)
    }

    #[test]
    fn a_fixed_disk_of_whole_mib_passes() {
        assert_eq!(check(&fixed_footer(DISK), DISK + 512), None);
    }

    #[test]
    fn every_broken_rule_is_named() {
        let mut cookie = fixed_footer(DISK);
        cookie[0] = b'C';
        let mut checksum = fixed_footer(DISK);
        checksum[100] = 1;
        let mut dynamic = fixed_footer(DISK);
        dynamic[63] = 3;
        seal(&mut dynamic);
        let odd = fixed_footer(DISK + 512);
        for (footer, size, message) in [
            (
                &cookie[..],
                DISK + 512,
                "not a VHD: the last 512 bytes do not start with the 'conectix' cookie".to_string(),
            ),
            (
                &checksum[..],
                DISK + 512,
                format!(
                    "the VHD footer's checksum is {:#010x}, its bytes give {:#010x}: the footer is corrupt",
                    u32::from_be_bytes(checksum[64..68].try_into().unwrap()),
                    u32::from_be_bytes(checksum[64..68].try_into().unwrap()) - 1
                ),
            ),
            (
                &dynamic[..],
                DISK + 512,
                "a dynamic VHD; Azure takes fixed VHDs only".into(),
            ),
            (
                &fixed_footer(DISK)[..],
                DISK + 1024,
                format!(
                    "the VHD footer says the disk is {DISK} bytes, the file holds {} before its footer",
                    DISK + 512
                ),
            ),
            (
                &odd[..],
                DISK + 1024,
                format!(
                    "the disk is {} bytes, not a whole number of MiB as Azure requires",
                    DISK + 512
                ),
            ),
            (
                &[0u8; 100][..],
                100,
                "100 bytes is too small for a VHD (a 512-byte footer and a disk)".into(),
            ),
        ] {
            assert_eq!(
                check(footer, size),
                Some(format!("s3://staging/d/rhel.vhd: {message}"))
            );
        }
    }
}
