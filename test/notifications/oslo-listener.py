"""A notification consumer written with oslo.messaging itself (Debian's python3-oslo.messaging).

usage: oslo-listener.py TRANSPORT_URL EXCHANGE TOPIC
Listens on <TOPIC>.{info,warn,error} of EXCHANGE with oslo.messaging's notification listener (so
the queues and exchange are declared its way) and prints one JSON line per notification it decoded.
"""
import json
import sys
import time

from oslo_config import cfg
import oslo_messaging

url, exchange, topic = sys.argv[1:4]
conf = cfg.ConfigOpts()
conf([], project='glimpse-test')
transport = oslo_messaging.get_notification_transport(conf, url=url)
targets = [oslo_messaging.Target(topic=topic, exchange=exchange)]


class Endpoint(object):
    def _out(self, priority, publisher_id, event_type, payload, metadata):
        print(json.dumps({'priority': priority, 'publisher_id': publisher_id, 'event_type': event_type,
                          'payload': payload, 'message_id': metadata.get('message_id'),
                          'timestamp': metadata.get('timestamp')}), flush=True)

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._out('INFO', publisher_id, event_type, payload, metadata)

    def warn(self, ctxt, publisher_id, event_type, payload, metadata):
        self._out('WARN', publisher_id, event_type, payload, metadata)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._out('ERROR', publisher_id, event_type, payload, metadata)


listener = oslo_messaging.get_notification_listener(transport, targets, [Endpoint()], executor='threading')
# One dispatch thread: notifications are printed in the order they were delivered.
conf.set_override('executor_thread_pool_size', 1)
listener.start()
print('LISTENING', flush=True)
try:
    while True:
        time.sleep(1)
except KeyboardInterrupt:
    pass
finally:
    listener.stop()
    listener.wait()
