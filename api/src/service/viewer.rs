//! Who is making a request, as authorization sees it: a leaf that every
//! service and adapter may import (it imports only the member entity, the
//! configuration and the error type).

use entities::member::{self, Role};
use uuid::Uuid;

use crate::config::Config;
use crate::error::{AppError, Result};

/// Who is making a request, as far as authorization cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub id: Uuid,
    pub role: Role,
    /// Whether the member's address is confirmed (always, with
    /// confirmation off).
    pub confirmed: bool,
}

impl Viewer {
    /// The authorization view of a member, under `config`'s confirmation rule.
    pub fn of(member: &member::Model, config: &Config) -> Self {
        Viewer {
            id: member.id,
            role: member.role,
            confirmed: member.email_confirmed_at.is_some() || !config.confirmation_required(),
        }
    }

    /// `FORBIDDEN` (reason `EMAIL_NOT_CONFIRMED`) unless the address is confirmed.
    pub fn require_confirmed(&self) -> Result<()> {
        if self.confirmed {
            Ok(())
        } else {
            Err(AppError::email_not_confirmed())
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether they moderate the whole site (moderators and admins).
    pub fn moderates(&self) -> bool {
        matches!(self.role, Role::Moderator | Role::Admin)
    }
}
