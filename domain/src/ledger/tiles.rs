//! C2SP tlog-tiles: tile coordinates, their paths, and what a tree of a given size can serve.
//!
//! A hash tile `tile/<L>/<N>` holds the stored hashes of tree level `8·L` with indices
//! `256·N .. 256·N + W` (32 bytes each); a partial tile of width `W < 256` is `<N>.p/<W>`. An
//! entries tile `tile/entries/<N>` bundles entries `256·N ..`, each as a 2-byte big-endian
//! length and the entry's bytes. `N` is written in groups of three digits, every group but the
//! last prefixed with `x`: 1234067 → `x001/x234/067`.

/// Levels of the tree per tile level.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;

/// A tile named by a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    /// The tile level for a hash tile; None for an entries tile.
    pub level: Option<u8>,
    pub index: u64,
    /// 1..=256; 256 is a full tile.
    pub width: u64,
}

/// `N` in the path encoding.
pub fn format_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

impl Tile {
    /// The path under `tile/`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let level = match self.level {
            Some(l) => l.to_string(),
            None => "entries".into(),
        };
        let partial = if self.width < TILE_WIDTH {
            format!(".p/{}", self.width)
        } else {
            String::new()
        };
        format!("{level}/{}{partial}", format_index(self.index))
    }

    /// Parses the path under `tile/`. Strict: canonical numbers only, so one tile has one path.
    pub fn parse(path: &str) -> Option<Tile> {
        let mut parts = path.split('/');
        let level = match parts.next()? {
            "entries" => None,
            l => Some(
                l.parse::<u8>()
                    .ok()
                    .filter(|v| *v < 64 && v.to_string() == l)?,
            ),
        };
        let rest: Vec<&str> = parts.collect();
        let (groups, width) = match rest.as_slice() {
            [groups @ .., last, w] if last.ends_with(".p") => {
                let w: u64 = w.parse().ok()?;
                if !(1..TILE_WIDTH).contains(&w) || w.to_string() != *rest.last()? {
                    return None;
                }
                let mut g = groups.to_vec();
                g.push(last.strip_suffix(".p")?);
                (g, w)
            }
            groups => (groups.to_vec(), TILE_WIDTH),
        };
        let (last, leading) = groups.split_last()?;
        if leading.len() > 6 {
            return None;
        }
        let mut index: u64 = 0;
        for (i, g) in leading.iter().enumerate() {
            let digits = g.strip_prefix('x')?;
            // No leading zero group: one tile, one path.
            if i == 0 && digits == "000" {
                return None;
            }
            index = index
                .checked_mul(1000)?
                .checked_add(three_digits(digits)?)?;
        }
        index = index.checked_mul(1000)?.checked_add(three_digits(last)?)?;
        Some(Tile {
            level,
            index,
            width,
        })
    }

    /// The width of this tile the tree of `size` leaves has complete (0: none of it yet).
    pub fn available(level: Option<u8>, index: u64, size: u64) -> u64 {
        let count = match level {
            None => size,
            Some(l) => {
                let shift = u32::from(l) * u32::from(TILE_HEIGHT);
                if shift >= 64 { 0 } else { size >> shift }
            }
        };
        let Some(start) = index.checked_mul(TILE_WIDTH) else {
            return 0;
        };
        count.saturating_sub(start).min(TILE_WIDTH)
    }

    /// The tree level and index range of the stored hashes a hash tile holds.
    pub fn hash_range(&self) -> Option<(u8, u64, u64)> {
        let level = self.level? * TILE_HEIGHT;
        let start = self.index.checked_mul(TILE_WIDTH)?;
        Some((level, start, start + self.width))
    }
}

fn three_digits(s: &str) -> Option<u64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding() {
        assert_eq!(format_index(0), "000");
        assert_eq!(format_index(67), "067");
        assert_eq!(format_index(1234067), "x001/x234/067");
        assert_eq!(format_index(1000), "x001/000");
        assert_eq!(format_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
    }

    #[test]
    fn paths_round_trip_and_bad_ones_are_refused() {
        for tile in [
            Tile {
                level: Some(0),
                index: 0,
                width: 256,
            },
            Tile {
                level: Some(1),
                index: 1234067,
                width: 3,
            },
            Tile {
                level: None,
                index: 5,
                width: 255,
            },
            Tile {
                level: Some(7),
                index: u64::MAX,
                width: 256,
            },
        ] {
            assert_eq!(Tile::parse(&tile.path()), Some(tile), "{}", tile.path());
        }
        assert_eq!(Tile::parse("0/x001/x234/067.p/8").unwrap().index, 1234067);
        for bad in [
            "",
            "0",
            "0/",
            "0/1",
            "0/0001",
            "0/x000/001",
            "0/x1/001",
            "00/001",
            "64/000",
            "-1/000",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/08",
            "0/000.p/",
            "0/000.p",
            "0/x018/x446/x744/x073/x709/x551/616",
            "0/x001/x018/x446/x744/x073/x709/x551/615",
            "entries/abc",
            "0/000/",
            "0/+01",
            "x/000",
        ] {
            assert_eq!(Tile::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn availability() {
        assert_eq!(Tile::available(Some(0), 0, 10), 10);
        assert_eq!(Tile::available(Some(0), 0, 300), 256);
        assert_eq!(Tile::available(Some(0), 1, 300), 44);
        assert_eq!(Tile::available(Some(0), 2, 300), 0);
        assert_eq!(Tile::available(Some(1), 0, 300), 1);
        assert_eq!(Tile::available(Some(1), 0, 255), 0);
        assert_eq!(Tile::available(None, 0, 3), 3);
        assert_eq!(Tile::available(Some(63), u64::MAX, u64::MAX), 0);
    }
}
