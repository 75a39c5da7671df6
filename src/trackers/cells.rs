//! Memory shared with JS on the same thread: pages of f64 that the facade
//! maps as Float64Arrays and writes on its hot paths, so that a `push()`
//! needs no call into Rust. Rust owns the memory and reads it when
//! asked. `Cell` because JS writes it between calls; pages are never moved
//! or freed while their owner lives, so JS views of them stay valid, and
//! freed records are reused.

use std::cell::Cell;

pub struct CellPages {
    /// f64 per record.
    stride: usize,
    /// Records per page.
    per_page: usize,
    pages: Vec<Box<[Cell<f64>]>>,
    free: Vec<u32>,
}

impl CellPages {
    pub fn new(stride: usize, per_page: usize) -> Self {
        CellPages {
            stride: stride.max(1),
            per_page: per_page.max(1),
            pages: Vec::new(),
            free: Vec::new(),
        }
    }

    /// A record, all zeros.
    pub fn alloc(&mut self) -> u32 {
        if let Some(k) = self.free.pop() {
            for f in 0..self.stride {
                self.set(k, f, 0.0);
            }
            return k;
        }
        let k = (self.pages.len() * self.per_page) as u32;
        self.pages.push(
            (0..self.per_page * self.stride)
                .map(|_| Cell::new(0.0))
                .collect(),
        );
        self.free.extend((k + 1..k + self.per_page as u32).rev());
        k
    }

    /// Gives the record back; JS must not write it afterwards.
    pub fn free(&mut self, record: u32) {
        self.free.push(record);
    }

    fn cell(&self, record: u32, field: usize) -> &Cell<f64> {
        let r = record as usize;
        &self.pages[r / self.per_page][(r % self.per_page) * self.stride + field]
    }

    pub fn get(&self, record: u32, field: usize) -> f64 {
        self.cell(record, field).get()
    }

    pub fn set(&self, record: u32, field: usize, v: f64) {
        self.cell(record, field).set(v)
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Start and length (in f64) of page `p`, for JS to map.
    pub fn page(&self, p: usize) -> Option<(*mut f64, usize)> {
        self.pages
            .get(p)
            .map(|page| (page.as_ptr() as *mut f64, page.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_fill_pages_that_never_move_and_come_back_zeroed() {
        let mut c = CellPages::new(2, 3);
        let first: Vec<u32> = (0..3).map(|_| c.alloc()).collect();
        assert_eq!(first, [0, 1, 2]);
        let page0 = c.page(0);
        c.set(1, 1, 7.0);
        assert_eq!(c.alloc(), 3);
        assert_eq!(c.page_count(), 2);
        assert_eq!(c.page(0), page0);
        assert_eq!(c.page(1).map(|(_, n)| n), Some(6));
        c.free(1);
        assert_eq!(c.alloc(), 1);
        assert_eq!((c.get(1, 0), c.get(1, 1)), (0.0, 0.0));
    }
}
