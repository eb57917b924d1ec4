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
