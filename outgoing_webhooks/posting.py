"""One POST to a checked target (targets.py), over a connection to the address that was checked.

urllib3 connects to `Target.address` and sends the name in `Host`, in TLS's SNI and in the certificate check
(against certifi's authorities), so no second DNS lookup can send the request elsewhere. No retries and no
redirects here: delivery.py decides what a failure means.
"""

from typing import Mapping

import certifi
import urllib3

from outgoing_webhooks.targets import Target

PostFailed = urllib3.exceptions.HTTPError  # refused, timed out, TLS or protocol error


def post(target: Target, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """The receiver's HTTP status."""
    options = dict(timeout=urllib3.Timeout(total=timeout), retries=False, maxsize=1)
    if target.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            target.address, target.port, server_hostname=target.host, assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(), **options)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
    with pool:
        answer = pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": target.host_header},
                              redirect=False, assert_same_host=False)
        return answer.status
