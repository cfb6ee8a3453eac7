//! Who may do what with incidents: the one table the incident server functions, the services'
//! redaction and the pages all ask. Roles include the ones below them.

use super::Role;

crate::stable_strings! {
    /// Something a person does with incidents; [`IncidentAction::allowed`] says which roles may.
    pub enum IncidentAction("incident action") {
        /// See incidents, spaces and history, without phone numbers, meeting links or dial-in.
        View = "view",
        /// See responders' and deliveries' phone numbers, meeting links and dial-in numbers.
        SeeContacts = "see_contacts",
        /// Run incidents: open a space, start, remind, retry a delivery, stop, add and remove
        /// responders (people of the org, externals of the directory), search the directory.
        Run = "run",
        /// Load the org directory from Webex again.
        ReloadDirectory = "reload_directory",
        /// Add, edit (re-point numbers) and delete external responders.
        EditDirectory = "edit_directory",
        /// Switch a responder's SMS / voice on or off in a space.
        SetChannels = "set_channels",
        /// Read the directory's numbers in full: the export, and the externals as they are listed.
        ExportDirectory = "export_directory",
        /// Choose the Webex space whose members may run incidents.
        ChooseRespondersSpace = "choose_responders_space",
    }
}

impl IncidentAction {
    /// The least role that may do it: the whole matrix.
    pub fn least_role(self) -> Role {
        use IncidentAction::*;
        match self {
            View => Role::Viewer,
            SeeContacts | Run | ReloadDirectory => Role::Operator,
            EditDirectory | SetChannels | ExportDirectory | ChooseRespondersSpace => Role::Admin,
        }
    }

    pub fn allowed(self, role: Role) -> bool {
        role.allows(self.least_role())
    }

    /// What it is, as a refusal names it ("Your role (viewer) may not run incidents").
    pub fn label(self) -> &'static str {
        use IncidentAction::*;
        match self {
            View => "see incidents",
            SeeContacts => "see phone numbers and meeting links",
            Run => "run incidents",
            ReloadDirectory => "reload the org directory",
            EditDirectory => "edit the external responders",
            SetChannels => "switch responders' SMS or voice",
            ExportDirectory => "export the responder directory",
            ChooseRespondersSpace => "choose the responders' space",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IncidentAction::{self, *};
    use crate::model::Role;

    #[test]
    fn viewers_only_see_operators_run_incidents_and_only_admins_edit_the_directory() {
        // (action, viewer, operator, admin): written out, not derived, so a change to the
        // matrix must change this table too.
        let matrix: [(IncidentAction, bool, bool, bool); 8] = [
            (View, true, true, true),
            (SeeContacts, false, true, true),
            (Run, false, true, true),
            (ReloadDirectory, false, true, true),
            (EditDirectory, false, false, true),
            (SetChannels, false, false, true),
            (ExportDirectory, false, false, true),
            (ChooseRespondersSpace, false, false, true),
        ];
        assert_eq!(matrix.len(), IncidentAction::ALL.len(), "every action is in the table");
        for (action, viewer, operator, admin) in matrix {
            assert_eq!(action.allowed(Role::Viewer), viewer, "viewer: {action}");
            assert_eq!(action.allowed(Role::Operator), operator, "operator: {action}");
            assert_eq!(action.allowed(Role::Admin), admin, "admin: {action}");
        }
    }
}
