//! Node and edge type indices looked up by name from the snapshot's meta.
//! A type the file does not declare gets `ABSENT`, which no node or edge has.

use super::meta::Meta;

pub const ABSENT: u8 = 0xFF;

#[derive(Debug, Clone, Copy)]
pub struct TypeIndices {
    pub hidden: u8,
    pub array: u8,
    pub string: u8,
    pub object: u8,
    pub code: u8,
    pub closure: u8,
    pub regexp: u8,
    pub number: u8,
    pub native: u8,
    pub synthetic: u8,
    pub cons_string: u8,
    pub sliced_string: u8,
    pub e_context: u8,
    pub e_element: u8,
    pub e_property: u8,
    pub e_internal: u8,
    pub e_hidden: u8,
    pub e_shortcut: u8,
    pub e_weak: u8,
    pub e_invisible: u8,
}

impl TypeIndices {
    pub fn new(meta: &Meta) -> Self {
        let n = |name: &str| meta.node_type_index(name).unwrap_or(ABSENT);
        let e = |name: &str| meta.edge_type_index(name).unwrap_or(ABSENT);
        TypeIndices {
            hidden: n("hidden"),
            array: n("array"),
            string: n("string"),
            object: n("object"),
            code: n("code"),
            closure: n("closure"),
            regexp: n("regexp"),
            number: n("number"),
            native: n("native"),
            synthetic: n("synthetic"),
            cons_string: n("concatenated string"),
            sliced_string: n("sliced string"),
            e_context: e("context"),
            e_element: e("element"),
            e_property: e("property"),
            e_internal: e("internal"),
            e_hidden: e("hidden"),
            e_shortcut: e("shortcut"),
            e_weak: e("weak"),
            e_invisible: e("invisible"),
        }
    }

    /// Element and hidden edges carry an index; all others a string-table index.
    #[inline]
    pub fn edge_has_string_name(&self, edge_type: u8) -> bool {
        edge_type != self.e_element && edge_type != self.e_hidden
    }
}
