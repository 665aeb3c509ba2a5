/** The `dns` service: one responder for the stack's names, on port 53 over UDP and TCP. */
import { registerService } from '../services.js';
import { DNS_PORT, startDns, stackResponder } from './dns.js';
import { startDnsOverTcp } from './dns-tcp.js';

registerService({
  name: 'dns',
  description: 'DNS responder on port 53, UDP and TCP (RFC 7766): A/AAAA/PTR for tunstack.test and --hostname names',
  start: (stack, ctx) => {
    const responder = stackResponder(stack, ctx.hostnames);
    const stopUdp = startDns(stack, ctx.hostnames, DNS_PORT, responder);
    const stopTcp = startDnsOverTcp(stack, responder, DNS_PORT);
    return () => {
      stopTcp();
      stopUdp();
    };
  },
});
