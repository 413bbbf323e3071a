//! The stock gate of a flash-sale row as a Durable Object (`HotStock`, bound as `HOT_STOCK`):
//! one object per stock row, named `{location}/{sku}`, holding the row's `stock::gate::Gate`
//! in memory. A Durable Object runs one event at a time, so its count is never raced; it reads
//! D1 only for a snapshot (`store::flash_sales`) and keeps the refusals it gave in its own
//! storage, so the losers of a rush never write to D1.
//!
//! If the object is evicted or restarted it starts again from a snapshot of D1: the checkouts
//! it had granted and not yet seen written are then no longer subtracted, so it may grant too
//! much for a moment, and D1's `stock` CHECK refuses the excess as it does without a gate.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use tandem_domain::api::Problem;
use tandem_domain::checkout::placing::GatedHold;
use tandem_domain::stock::gate::{Admission, Ask, Gate, KeptRefusal};
use tandem_domain::time::Timestamp;
use worker::{DurableObject, Env, Method, Request, RequestInit, Response, State, durable_object};

use crate::error::ApiError;
use crate::store::d1::D1;
use crate::store::flash_sales;

/// What the Worker asks of a row's gate.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
enum GateCall {
    Admit { location_id: String, sku_id: String, ask: Ask },
    GiveBack { checkout_id: String, stale: bool },
}

#[durable_object(fetch)]
pub struct HotStock {
    state: State,
    env: Env,
    gate: Rc<RefCell<Gate>>,
}

impl DurableObject for HotStock {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, gate: Rc::new(RefCell::new(Gate::new())) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let call: GateCall = req.json().await?;
        let now = crate::config::real_now();
        match call {
            GateCall::Admit { location_id, sku_id, ask } => {
                let name = ask.refusal_name();
                let kept: Option<KeptRefusal> = self.state.storage().get(&name).await?;
                if kept.is_none() && self.gate.borrow().needs_snapshot(&ask, now) {
                    self.snapshot(&location_id, &sku_id, &ask, now).await?;
                }
                let decision = self.gate.borrow_mut().admit(&ask, kept.as_ref(), now);
                if let Some(keep) = &decision.keep {
                    self.state.storage().put(&name, keep).await?;
                }
                Response::from_json(&decision.admission)
            }
            GateCall::GiveBack { checkout_id, stale } => {
                self.gate.borrow_mut().give_back(&checkout_id, stale);
                Response::from_json(&())
            }
        }
    }
}

impl HotStock {
    /// Reads a snapshot of D1 and applies it, with the object's other events held back
    /// meanwhile: a rush that finds the count stale waits for one read instead of each starting
    /// its own. The first of them reads; the others find the count fresh.
    async fn snapshot(&self, location: &str, sku: &str, ask: &Ask, now: Timestamp) -> worker::Result<()> {
        let (gate, env, ask) = (Rc::clone(&self.gate), self.env.clone(), ask.clone());
        let (location, sku) = (location.to_owned(), sku.to_owned());
        // An error inside would reset the object: it comes out as a value instead.
        let read = async move {
            if !gate.borrow().needs_snapshot(&ask, now) {
                return Ok(Ok(()));
            }
            let asked = gate.borrow_mut().snapshot_ask(now);
            let db = match env.d1("DB") {
                Ok(db) => db,
                Err(error) => return Ok(Err(error.to_string())),
            };
            Ok(match flash_sales::snapshot(&D1(&db), &location, &sku, &asked.checkouts).await {
                Ok(snapshot) => {
                    gate.borrow_mut().apply(&asked, &snapshot);
                    Ok(())
                }
                Err(error) => Err(error.to_string()),
            })
        };
        self.state.block_concurrency_while(read).await?.map_err(worker::Error::RustError)
    }
}

/// Sends `call` to the gate of the row `location`/`sku`.
async fn send<T: for<'de> Deserialize<'de>>(
    env: &Env,
    location: &str,
    sku: &str,
    call: &GateCall,
) -> Result<T, ApiError> {
    let namespace = env.durable_object("HOT_STOCK").map_err(ApiError::internal)?;
    let stub = namespace
        .id_from_name(&format!("{location}/{sku}"))
        .and_then(|id| id.get_stub())
        .map_err(ApiError::internal)?;
    let body = serde_json::to_string(call).map_err(ApiError::internal)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request = Request::new_with_init("https://hot-stock/", &init).map_err(ApiError::internal)?;
    let mut answer = stub.fetch_with_request(request).await.map_err(ApiError::internal)?;
    if answer.status_code() != 200 {
        return Err(ApiError::internal(format!(
            "the stock gate of {location}/{sku} answered {}",
            answer.status_code()
        )));
    }
    answer.json().await.map_err(ApiError::internal)
}

/// Asks each flash-sale row `holds` draws on for its units, in turn. All granted: `Ok`. A row
/// short (or the key reused): the rows granted before give their units back, and the refusal is
/// the answer, with nothing written to D1.
pub async fn admit(env: &Env, holds: &[GatedHold], ask: &Ask) -> Result<(), ApiError> {
    for (at, hold) in holds.iter().enumerate() {
        let call = GateCall::Admit {
            location_id: hold.location_id.clone(),
            sku_id: hold.sku_id.as_str().to_owned(),
            ask: Ask { quantity: hold.quantity, ..ask.clone() },
        };
        let refusal = match send(env, &hold.location_id, hold.sku_id.as_str(), &call).await? {
            Admission::Granted => continue,
            Admission::Short { available, requested } => ApiError::OutOfStock {
                sku_id: hold.sku_id.as_str().to_owned(),
                fulfilment: hold.fulfilment.code(),
                available,
                requested,
            },
            Admission::KeyReused => ApiError::refused(
                Problem::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request",
            ),
        };
        give_back(env, &holds[..at], &ask.checkout_id, false).await?;
        return Err(refusal);
    }
    Ok(())
}

/// Gives the units of `checkout` back to the gates of `holds`: its write was refused (`stale`
/// when for stock: the gates' counts were too high) or never made.
pub async fn give_back(env: &Env, holds: &[GatedHold], checkout: &str, stale: bool) -> Result<(), ApiError> {
    for hold in holds {
        let call = GateCall::GiveBack { checkout_id: checkout.to_owned(), stale };
        send::<()>(env, &hold.location_id, hold.sku_id.as_str(), &call).await?;
    }
    Ok(())
}
