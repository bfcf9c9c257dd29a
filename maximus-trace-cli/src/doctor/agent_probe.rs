//! The UDP probe's datagram: a well-formed `Agent.emitBatch` call carrying a batch with no
//! spans (jaeger-idl `agent.thrift` / `jaeger.thrift`, Thrift compact protocol), so an agent
//! receiving it has nothing to store and nothing to complain about.

use thrift::protocol::{
    TCompactOutputProtocol, TFieldIdentifier, TListIdentifier, TMessageIdentifier, TMessageType,
    TOutputProtocol, TStructIdentifier, TType,
};

/// Encodes `emitBatch(Batch { process: Process { serviceName: service }, spans: [] })`.
pub fn empty_batch(service: &str) -> thrift::Result<Vec<u8>> {
    let mut datagram = Vec::new();
    let mut o = TCompactOutputProtocol::new(&mut datagram);
    o.write_message_begin(&TMessageIdentifier::new("emitBatch", TMessageType::OneWay, 0))?;
    o.write_struct_begin(&TStructIdentifier::new("emitBatch_args"))?;
    o.write_field_begin(&TFieldIdentifier::new("batch", TType::Struct, 1))?;
    o.write_struct_begin(&TStructIdentifier::new("Batch"))?;
    o.write_field_begin(&TFieldIdentifier::new("process", TType::Struct, 1))?;
    o.write_struct_begin(&TStructIdentifier::new("Process"))?;
    o.write_field_begin(&TFieldIdentifier::new("serviceName", TType::String, 1))?;
    o.write_string(service)?;
    o.write_field_end()?;
    o.write_field_stop()?;
    o.write_struct_end()?;
    o.write_field_end()?;
    o.write_field_begin(&TFieldIdentifier::new("spans", TType::List, 2))?;
    o.write_list_begin(&TListIdentifier::new(TType::Struct, 0))?;
    o.write_list_end()?;
    o.write_field_end()?;
    o.write_field_stop()?;
    o.write_struct_end()?;
    o.write_field_end()?;
    o.write_field_stop()?;
    o.write_struct_end()?;
    o.write_message_end()?;
    o.flush()?;
    drop(o);
    Ok(datagram)
}

#[cfg(test)]
mod tests {
    use maximus_trace::export::jaeger::decode_emit_batch;

    #[test]
    fn the_probe_is_an_emit_batch_the_agent_decoder_accepts() {
        let datagram = super::empty_batch("doctor").unwrap();
        let batch = decode_emit_batch(&datagram).expect("a valid emitBatch");
        assert_eq!(batch.process.service_name, "doctor");
        assert!(batch.spans.is_empty());
    }
}
