//! Every step's input and output, as the state machine (or the API) passes them: one place
//! for the whole contract between the ASL, the functions and their callers. Each work-list
//! node carries an id (see [`crate::plan::worklist`]) that the step handling it echoes in its
//! output, so results and history events are matched by id.
//!
//! | step | input | output |
//! |---|---|---|
//! | start-push | an S3 notification, an API request or a [`PushRequest`] | [`Started`] / [`StartedPushes`] |
//! | resolve-mapping | [`Push`] | [`WorkIndex`] (the [`WorkList`] stored) |
//! | upload | [`UploadInput`] | [`UploadOutput`] |
//! | azure-upload | [`AzureUploadInput`] | [`AzureUploadOutput`] |
//! | azure-publish | [`AzurePublishInput`] | [`AzurePublishOutput`] |
//! | import-snapshot | [`ImportInput`] | [`ImportOutput`] |
//! | copy-regions | [`CopyInput`] | [`CopyOutput`] |
//! | publish | [`PublishInput`] | [`PublishOutput`] |
//! | rhsm-update | [`RhsmInput`] | [`RhsmOutput`] |
//! | marketplace-version | [`VersionInput`] | [`VersionOutput`] |
//! | summarize | [`SummaryRequest`] | [`SummaryOutput`] |
//! | sns-notify | [`NotifyRequest`] (the [`NotifyInput`]'s notice stored) | [`NotifyOutput`] |
//! | push-status | `GET /pushes/{id}` | [`PushStatus`] |

mod azure_publish;
mod azure_upload;
mod copy_regions;
mod import_snapshot;
mod marketplace_version;
mod pacing;
mod publish;
mod push_status;
mod rhsm_update;
mod sns_notify;
mod start_push;
mod summarize;
mod upload;

pub use azure_publish::*;
pub use azure_upload::*;
pub use copy_regions::*;
pub use import_snapshot::*;
pub use marketplace_version::*;
pub use pacing::*;
pub use publish::*;
pub use push_status::*;
pub use rhsm_update::*;
pub use sns_notify::*;
pub use start_push::*;
pub use summarize::*;
pub use upload::*;

pub use crate::inputs::push::{Push, PushRequest};
pub use crate::plan::stored::{UploadRef, WorkIndex};
pub use crate::plan::worklist::{
    AzureDestinationWork, AzureOfferWork, AzureUploadWork, CopyWork, DestinationWork, ImportWork,
    UploadWork, WorkList,
};

/// Whether a count is zero (serde: a first attempt is not written).
fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests;
