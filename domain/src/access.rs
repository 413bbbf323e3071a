//! Who may do what. Everyone signed in is a shopper; a phone may also be the owner or a clerk
//! of a store, staff of a supplier, or an operator of the platform. Scoped routes ask
//! [`Access`] about the one store or supplier in their path, and a caller with no role there
//! is told the resource does not exist.

use serde::{Deserialize, Serialize};

use crate::auth::Phone;
use crate::catalog::{StoreId, SupplierId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "AccessRole"))]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    StoreOwner { store_id: StoreId },
    Clerk { store_id: StoreId },
    SupplierStaff { supplier_id: SupplierId },
    Operator,
}

/// What a store lets a role do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoreRight {
    /// See orders, verify pickups.
    Serve,
    /// Also: the shelf, prices, stock, clerks.
    Manage,
}

/// The roles of one caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Access {
    pub roles: Vec<Role>,
}

impl Access {
    /// The caller's right over `store`, if any. Operators serve no counter: they run the
    /// platform, not stores.
    pub fn store(&self, store: &StoreId) -> Option<StoreRight> {
        self.roles
            .iter()
            .filter_map(|role| match role {
                Role::StoreOwner { store_id } if store_id == store => Some(StoreRight::Manage),
                Role::Clerk { store_id } if store_id == store => Some(StoreRight::Serve),
                _ => None,
            })
            .max()
    }

    pub fn supplier(&self, supplier: &SupplierId) -> bool {
        self.roles.iter().any(|role| matches!(role, Role::SupplierStaff { supplier_id } if supplier_id == supplier))
    }

    pub fn is_operator(&self) -> bool {
        self.roles.contains(&Role::Operator)
    }
}

/// The operators' phones from the `OPERATOR_PHONES` setting: numbers separated by commas,
/// semicolons or new lines. Entries that are not phone numbers are returned apart, to be logged.
pub fn operator_phones(setting: &str) -> (Vec<Phone>, Vec<String>) {
    let mut phones = Vec::new();
    let mut rejected = Vec::new();
    for entry in setting.split([',', ';', '\n']).map(str::trim).filter(|e| !e.is_empty()) {
        match Phone::parse(entry) {
            Ok(phone) => phones.push(phone),
            Err(_) => rejected.push(entry.to_owned()),
        }
    }
    (phones, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(id: &str) -> StoreId {
        StoreId::parse(id).unwrap()
    }

    #[test]
    fn rights_are_per_store_and_the_owners_is_the_larger() {
        let access = Access {
            roles: vec![
                Role::Clerk { store_id: store("s-a") },
                Role::StoreOwner { store_id: store("s-a") },
                Role::Clerk { store_id: store("s-b") },
                Role::SupplierStaff { supplier_id: SupplierId::parse("sup-x").unwrap() },
            ],
        };
        assert_eq!(access.store(&store("s-a")), Some(StoreRight::Manage));
        assert_eq!(access.store(&store("s-b")), Some(StoreRight::Serve));
        assert_eq!(access.store(&store("s-c")), None);
        assert!(access.supplier(&SupplierId::parse("sup-x").unwrap()));
        assert!(!access.supplier(&SupplierId::parse("sup-y").unwrap()));
        assert!(!access.is_operator());
        let operator = Access { roles: vec![Role::Operator] };
        assert!(operator.is_operator());
        assert_eq!(operator.store(&store("s-a")), None);
    }

    #[test]
    fn operator_phones_are_a_list_with_bad_entries_set_apart() {
        let (phones, rejected) = operator_phones("13900000000, +86 139 0000 0001\n12345");
        assert_eq!(phones.len(), 2);
        assert_eq!(rejected, ["12345"]);
    }
}
