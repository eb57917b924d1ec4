//! Golden fixture files: `name hex` per line, `#` comments. Tests of this crate and of
//! `trent-node` pin the bytes of every stored and sent format in them (docs/formats.md).

use std::io;
use std::path::Path;

/// Reads a fixture: (name, bytes) in file order.
pub fn read(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let invalid =
        |line: &str| io::Error::new(io::ErrorKind::InvalidData, format!("bad fixture line: {line}"));
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, hex) = line.split_once(' ').ok_or_else(|| invalid(line))?;
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|at| hex.get(at..at + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| invalid(line))?;
            Ok((name.to_owned(), bytes))
        })
        .collect()
}

/// Writes a fixture with `header` as its leading comment.
pub fn write(path: &Path, header: &str, samples: &[(String, Vec<u8>)]) -> io::Result<()> {
    let mut text = String::new();
    for line in header.lines() {
        text.push_str(&format!("# {line}\n"));
    }
    for (name, bytes) in samples {
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        text.push_str(&format!("{name} {hex}\n"));
    }
    std::fs::write(path, text)
}

/// Checks that fixture bytes decode to the sample they pin (the reason, if they do not).
pub type Check = Box<dyn Fn(&[u8]) -> Result<(), String>>;

/// Checks the fixture at `path` against `samples` (name, the bytes this build writes, check):
/// the same samples in the same order, each fixture decoding to its sample, and this build
/// writing each byte for byte as pinned. With `write_header`, a fixture that does not exist yet is
/// written first (a new format's, once).
pub fn verify(
    path: &Path,
    samples: &[(String, Vec<u8>, Check)],
    write_header: Option<&str>,
) -> Result<(), String> {
    if let Some(header) = write_header.filter(|_| !path.exists()) {
        let bytes: Vec<(String, Vec<u8>)> =
            samples.iter().map(|(name, bytes, _)| (name.clone(), bytes.clone())).collect();
        write(path, header, &bytes).map_err(|error| error.to_string())?;
    }
    let fixture = read(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let names: Vec<&str> = samples.iter().map(|(name, _, _)| name.as_str()).collect();
    let fixed: Vec<&str> = fixture.iter().map(|(name, _)| name.as_str()).collect();
    if names != fixed {
        return Err(format!(
            "a sample was added or removed ({names:?} against {fixed:?}); add a format instead"
        ));
    }
    for ((name, bytes, check), (_, fixed)) in samples.iter().zip(&fixture) {
        check(fixed).map_err(|error| format!("{name}: {error}"))?;
        if bytes != fixed {
            return Err(format!("{name}: this build no longer writes it as pinned"));
        }
    }
    Ok(())
}
