//! Reads a table's DynamoDB stream the way Lambda's event source mapping does (DescribeStream,
//! GetShardIterator, GetRecords) and hands back the same `aws_lambda_events` records, so the projector runs
//! on real stream records locally and in tests. Parent shards are drained before their children, as on AWS.

use std::collections::{HashMap, HashSet};

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StreamError {
    #[error("the table {0} has no stream")]
    NoStream(String),
    #[error("DynamoDB Streams: {0}")]
    Api(String),
    #[error("a stream record could not be read: {0}")]
    Record(String),
}

fn api(error: impl std::error::Error) -> StreamError {
    StreamError::Api(aws_sdk_dynamodbstreams::error::DisplayErrorContext(error).to_string())
}

/// Where a new poller starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The oldest record still in the stream (24 hours on AWS).
    TrimHorizon,
    /// Only records written from now on.
    Latest,
}

#[derive(Debug, Default)]
struct Shard {
    parent: Option<String>,
    iterator: Option<String>,
    last_sequence: Option<String>,
    finished: bool,
}

/// One stream, followed shard by shard.
pub struct StreamPoller {
    client: Client,
    stream_arn: String,
    region: String,
    start_at: StartAt,
    shards: HashMap<String, Shard>,
    shard_order: Vec<String>,
    /// Polls since the shard list was last described; shards change rarely (splits every few hours on
    /// AWS), so DescribeStream runs every 50 polls or when a shard closes, not on every poll.
    polls_since_describe: u32,
}

impl StreamPoller {
    /// Follows the latest stream of `table`, with a streams client made from `config`.
    pub async fn for_table(
        dynamodb: &aws_sdk_dynamodb::Client,
        config: &aws_clients::SdkConfig,
        table: &str,
        start_at: StartAt,
    ) -> Result<Self, StreamError> {
        let mut builder = aws_sdk_dynamodbstreams::config::Builder::from(config);
        if let Some(http) = config.http_client() {
            builder = builder.http_client(crate::stream_shim::restoring_empty_collections(http));
        }
        let streams = Client::from_conf(builder.build());
        let described = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| api(e.into_service_error()))?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| StreamError::NoStream(table.to_owned()))?
            .to_owned();
        let region = streams
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        Ok(StreamPoller {
            client: streams,
            stream_arn,
            region,
            start_at,
            shards: HashMap::new(),
            shard_order: Vec::new(),
            polls_since_describe: u32::MAX,
        })
    }

    async fn refresh_shards(&mut self) -> Result<(), StreamError> {
        let mut start: Option<String> = None;
        loop {
            let described = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|e| api(e.into_service_error()))?;
            let Some(description) = described.stream_description() else {
                return Ok(());
            };
            for shard in description.shards() {
                let Some(id) = shard.shard_id() else { continue };
                if !self.shards.contains_key(id) {
                    self.shard_order.push(id.to_owned());
                    self.shards.insert(
                        id.to_owned(),
                        Shard {
                            parent: shard.parent_shard_id().map(str::to_owned),
                            ..Shard::default()
                        },
                    );
                }
            }
            match description.last_evaluated_shard_id() {
                Some(last) => start = Some(last.to_owned()),
                None => {
                    tracing::debug!(stream = %self.stream_arn, shards = self.shards.len(), "stream described");
                    return Ok(());
                }
            }
        }
    }

    async fn iterator_for(
        &self,
        shard_id: &str,
        shard: &Shard,
    ) -> Result<Option<String>, StreamError> {
        let request = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard_id);
        let request = match (&shard.last_sequence, self.start_at) {
            (Some(sequence), _) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
            (None, StartAt::TrimHorizon) => {
                request.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            (None, StartAt::Latest) => request.shard_iterator_type(ShardIteratorType::Latest),
        };
        let output = request
            .send()
            .await
            .map_err(|e| api(e.into_service_error()))?;
        Ok(output.shard_iterator().map(str::to_owned))
    }

    /// Every record that arrived since the last poll, oldest first per shard, as Lambda would deliver them.
    /// A child shard is read only once its parent is drained.
    pub async fn poll(&mut self) -> Result<Event, StreamError> {
        if self.polls_since_describe >= 50 {
            self.refresh_shards().await?;
            self.polls_since_describe = 0;
        }
        self.polls_since_describe += 1;
        let open: HashSet<String> = self
            .shards
            .iter()
            .filter(|(_, s)| !s.finished)
            .map(|(id, _)| id.clone())
            .collect();
        let mut records = Vec::new();
        for shard_id in self.shard_order.clone() {
            let Some(shard) = self.shards.get(&shard_id) else {
                continue;
            };
            let parent_open = shard.parent.as_ref().is_some_and(|p| open.contains(p));
            if !shard.finished && !parent_open {
                records.extend(self.poll_shard(&shard_id).await?);
            }
        }
        let mut event = Event::default();
        event.records = records;
        Ok(event)
    }

    /// The records one shard holds after the last one read, moving its iterator on.
    async fn poll_shard(&mut self, shard_id: &str) -> Result<Vec<EventRecord>, StreamError> {
        let shard = self.shards.get(shard_id).expect("known shard");
        let iterator = match &shard.iterator {
            Some(iterator) => Some(iterator.clone()),
            None => self.iterator_for(shard_id, shard).await?,
        };
        let shard = self.shards.get_mut(shard_id).expect("known shard");
        let Some(iterator) = iterator else {
            shard.finished = true;
            return Ok(Vec::new());
        };
        let output = match self
            .client
            .get_records()
            .shard_iterator(iterator)
            .send()
            .await
        {
            Ok(output) => output,
            // An iterator that expired, or points before what the shard still holds (DynamoDB Local
            // reports this for iterators taken on an empty shard), is replaced on the next poll: from
            // the last record read, or from the shard's oldest.
            Err(e)
                if e.as_service_error().is_some_and(|e| {
                    e.is_expired_iterator_exception() || e.is_trimmed_data_access_exception()
                }) =>
            {
                tracing::debug!(shard = %shard_id, "shard iterator replaced");
                shard.iterator = None;
                return Ok(Vec::new());
            }
            Err(e) => return Err(api(e.into_service_error())),
        };
        tracing::debug!(shard = %shard_id, records = output.records().len(), "records read");
        let mut records = Vec::with_capacity(output.records().len());
        for record in output.records() {
            if let Some(sequence) = record.dynamodb().and_then(|d| d.sequence_number()) {
                shard.last_sequence = Some(sequence.to_owned());
            }
            records.push(to_lambda_record(record, &self.stream_arn, &self.region)?);
        }
        shard.iterator = output.next_shard_iterator().map(str::to_owned);
        shard.finished = shard.iterator.is_none();
        if shard.finished {
            // A closed shard has children to pick up.
            self.polls_since_describe = u32::MAX;
        }
        Ok(records)
    }
}

/// The INSERT record the stream delivers for a new event item, reduced to what the projector reads (keys,
/// sequence number, and the time the record was made, which stands for the commit's): how a change feed without
/// a real stream hands events to the projector.
pub fn insert_record(key: &store::ItemKey, sequence: u64) -> EventRecord {
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    serde_json::from_value(json!({
        "eventID": format!("{sequence:021}"),
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "local",
        "dynamodb": {
            "ApproximateCreationDateTime": now,
            "Keys": { "PK": { "S": key.pk }, "SK": { "S": key.sk } },
            "SequenceNumber": format!("{sequence:021}"),
            "SizeBytes": 0,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    }))
    .expect("an insert record is well formed")
}

/// The INSERT record of a new item as DynamoDB Streams delivers it with `NEW_AND_OLD_IMAGES`: keys, and the
/// whole item as its new image (JSON attributes as the DynamoDB engine writes them: numbers as `N`, objects as
/// `M`, arrays as `L`).
pub fn insert_record_of(item: &store::Item, sequence: u64) -> EventRecord {
    let mut image: Map<String, Value> = item.attributes.clone().into_iter().collect();
    image.insert("PK".into(), Value::String(item.key.pk.clone()));
    image.insert("SK".into(), Value::String(item.key.sk.clone()));
    let mut record = insert_record(&item.key, sequence);
    record.change.new_image =
        serde_dynamo::to_item(Value::Object(image)).expect("a JSON object is a DynamoDB item");
    record
}

/// A stream record in the JSON shape Lambda delivers, read into `aws_lambda_events`' type.
pub fn to_lambda_record(
    record: &Record,
    stream_arn: &str,
    region: &str,
) -> Result<EventRecord, StreamError> {
    let change = record
        .dynamodb()
        .ok_or_else(|| StreamError::Record("no change data".into()))?;
    let image = |map: Option<&HashMap<String, AttributeValue>>| -> Value {
        Value::Object(
            map.map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), dynamodb_json(v)))
                    .collect()
            })
            .unwrap_or_default(),
        )
    };
    let json = json!({
        "eventID": record.event_id().unwrap_or_default(),
        "eventName": record.event_name().map(|n| n.as_str()).unwrap_or("INSERT"),
        "eventVersion": record.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region().unwrap_or(region),
        "eventSourceARN": stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": change.approximate_creation_date_time().map_or(0.0, |t| t.as_secs_f64()),
            "Keys": image(change.keys()),
            "NewImage": image(change.new_image()),
            "OldImage": image(change.old_image()),
            "SequenceNumber": change.sequence_number(),
            "SizeBytes": change.size_bytes().unwrap_or_default(),
            "StreamViewType": change.stream_view_type().map(|t| t.as_str()),
        }
    });
    serde_json::from_value(json).map_err(|e| StreamError::Record(e.to_string()))
}

/// An attribute value in DynamoDB's JSON form (`{"S": "..."}`, `{"N": "1"}`, ...).
fn dynamodb_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::B(b) => json!({ "B": STANDARD.encode(b.as_ref()) }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => {
            json!({ "BS": v.iter().map(|b| STANDARD.encode(b.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::L(v) => json!({ "L": v.iter().map(dynamodb_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => {
            let map: Map<String, Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), dynamodb_json(v)))
                .collect();
            json!({ "M": map })
        }
        _ => Value::Null,
    }
}
