import { describe, expect, it } from 'vitest';

import { communityId, ipAddressBytes, type FlowTuple } from '../../src/flows/community-id.js';

/** TCP/UDP/SCTP: the two ports; ICMP/ICMPv6: type and code; other protocols: none. */
type FlowRow = [proto: number, srcIp: string, dstIp: string, a: number | undefined, b: number | undefined];

function tupleOf([proto, srcIp, dstIp, a, b]: FlowRow): FlowTuple {
  if (proto === 1 || proto === 58) return { proto, srcIp, dstIp, icmpType: a ?? -1, icmpCode: b ?? -1 };
  if (a === undefined || b === undefined) return { proto, srcIp, dstIp };
  return { proto, srcIp, dstIp, srcPort: a, dstPort: b };
}

function describeRow([proto, srcIp, dstIp, a, b]: FlowRow, seed: number): string {
  const ends = a === undefined ? `${srcIp} -> ${dstIp}` : `${srcIp} ${a} -> ${dstIp} ${b}`;
  return `proto ${proto} ${ends} seed ${seed}`;
}

// The spec's baseline (community-id-spec baseline/baseline_deflt.json and
// baseline_seed1.json): the tuple as the spec lists it (for ICMP its "ports"
// are type and counter-type, which hash as type and code do), then the ID with
// seed 0 and with seed 1.
const SPEC_BASELINE: Array<[...FlowRow, seed0: string, seed1: string]> = [
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 135, 136, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=', '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 136, 135, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=', '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 135, 136, '1:zavyT/cezQr1fmImYCwYnMXbgck=', '1:2hSqmsDZ2kdcY9kbiUzOEBic0iM='],
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 136, 135, '1:zavyT/cezQr1fmImYCwYnMXbgck=', '1:2hSqmsDZ2kdcY9kbiUzOEBic0iM='],
  [58, '3ffe:501:1800:2345::2', '3ffe:507:0:1:200:86ff:fe05:80da', 3, 0, '1:2ObVBgIn28oZvibYZhZMBgh7WdQ=', '1:lVEtCZpYu84Xqaa++3lXFyuu2n4='],
  [58, '3ffe:501:410:0:2c0:dfff:fe47:33e', '3ffe:507:0:1:200:86ff:fe05:80da', 1, 4, '1:hLZd0XGWojozrvxqE0dWB1iM6R0=', '1:W8MHwXpWzpoSTD+cGcaJr4u0ys8='],
  [58, '3ffe:507:0:1:200:86ff:fe05:80da', '3ffe:501:0:1001::2', 128, 129, '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=', '1:GfZxjAkDk2MkegpBYHV6tadtFXQ='],
  [58, '3ffe:501:0:1001::2', '3ffe:507:0:1:200:86ff:fe05:80da', 129, 128, '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=', '1:GfZxjAkDk2MkegpBYHV6tadtFXQ='],
  [58, 'fe80::200:86ff:fe05:80da', 'ff02::2', 133, 134, '1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=', '1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8='],
  [58, 'fe80::260:97ff:fe07:69ea', 'ff02::1', 134, 133, '1:pkvHqCL88/tg1k4cPigmZXUtL00=', '1:K/ee5UCqAMAQXDorP5nSa2CGLjc='],
  [1, '192.168.0.89', '192.168.0.1', 8, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=', '1:03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [1, '192.168.0.1', '192.168.0.89', 0, 8, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=', '1:03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [1, '10.0.0.1', '10.0.0.2', 11, 0, '1:YHxtAirCG//0OzkcVAukqKQN9xM=', '1:XjUibYHaafLQ3pxQeiMI8g25q20='],
  [6, '2001:470:e5bf:dead:4957:2174:e82c:4887', '2607:f8b0:400c:c03::1a', 63943, 25, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=', '1:eJYTW6AOzFLlSUoESovMjnu7rMw='],
  [6, '2607:f8b0:400c:c03::1a', '2001:470:e5bf:dead:4957:2174:e82c:4887', 25, 63943, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=', '1:eJYTW6AOzFLlSUoESovMjnu7rMw='],
  [132, '192.168.170.8', '192.168.170.56', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=', '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg='],
  [132, '192.168.170.56', '192.168.170.8', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=', '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg='],
  [6, '128.232.110.120', '66.35.250.204', 34855, 80, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [6, '66.35.250.204', '128.232.110.120', 80, 34855, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [17, '192.168.1.52', '8.8.8.8', 54585, 53, '1:d/FP5EW3wiY1vCndhwleRRKHowQ=', '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [17, '8.8.8.8', '192.168.1.52', 53, 54585, '1:d/FP5EW3wiY1vCndhwleRRKHowQ=', '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [46, '10.1.12.1', '10.1.12.2', undefined, undefined, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=', '1:rYir8gphR31noO9iDRQmF/BteEI='],
  [46, '10.1.12.2', '10.1.12.1', undefined, undefined, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=', '1:rYir8gphR31noO9iDRQmF/BteEI='],
];

// The reference package's own unit-test vectors (communityid 1.5.0,
// tests/communityid_test.py), seed 0 and seed 1: among them the ICMP echo reply
// whose code is ignored, and ICMPv6 destination unreachable in both directions.
const PACKAGE_VECTORS: Array<[...FlowRow, seed0: string, seed1: string]> = [
  [1, '192.168.0.89', '192.168.0.1', 8, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=', '1:03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [1, '192.168.0.1', '192.168.0.89', 0, 8, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=', '1:03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [1, '192.168.0.89', '192.168.0.1', 20, 0, '1:3o2RFccXzUgjl7zDpqmY7yJi8rI=', '1:lCXHHxavE1Vq3oX9NH5ladQg02o='],
  [1, '192.168.0.89', '192.168.0.1', 20, 1, '1:tz/fHIDUHs19NkixVVoOZywde+I=', '1:Ie3wmFyxiEyikbsbcO03d2nh+PM='],
  [1, '192.168.0.1', '192.168.0.89', 0, 20, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=', '1:03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 135, 0, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=', '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 136, 0, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=', '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY='],
  [58, '3ffe:507:0:1:260:97ff:fe07:69ea', '3ffe:507:0:1:200:86ff:fe05:80da', 3, 0, '1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=', '1:OlOWx9psIbBFi7lOCw/4MhlKR9M='],
  [58, '3ffe:507:0:1:200:86ff:fe05:80da', '3ffe:507:0:1:260:97ff:fe07:69ea', 3, 0, '1:/OGBt9BN1ofenrmSPWYicpij2Vc=', '1:Ij4ZxnC87/MXzhOjvH2vHu7LRmE='],
  [132, '192.168.170.8', '192.168.170.56', 7, 80, '1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=', '1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU='],
  [132, '192.168.170.56', '192.168.170.8', 80, 7, '1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=', '1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU='],
  [6, '128.232.110.120', '66.35.250.204', 34855, 80, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [6, '66.35.250.204', '128.232.110.120', 80, 34855, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [6, '10.0.0.1', '10.0.0.2', 10, 11569, '1:SXBGMX1lBOwhhoDrZynfROxnhnM=', '1:HmBRGR+fUyXF4t8WEtal7Y0gEAo='],
  [17, '192.168.1.52', '8.8.8.8', 54585, 53, '1:d/FP5EW3wiY1vCndhwleRRKHowQ=', '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [17, '8.8.8.8', '192.168.1.52', 53, 54585, '1:d/FP5EW3wiY1vCndhwleRRKHowQ=', '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [46, '10.1.24.4', '10.1.12.1', undefined, undefined, '1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=', '1:BK3BVW3U2eemuwVQVN3zd/GULno='],
  [46, '10.1.12.1', '10.1.24.4', undefined, undefined, '1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=', '1:BK3BVW3U2eemuwVQVN3zd/GULno='],
];

// Generated with the reference package `communityid` 1.5.0 (CommunityID(seed).calc(FlowTuple(proto, src, dst, a, b)))
// and pasted here: each flow in both orderings (one-way ICMP types hash differently per direction, by design),
// IPv6 written compressed, uncompressed as Suricata writes it, and with an IPv4 tail, ports 0 and 65535,
// one host talking to itself (the ports decide the order), other protocols without ports, seeds 0, 4242 and 65535.
const REFERENCE_TABLE: Array<[...FlowRow, seed: number, expected: string]> = [
  [6, '10.0.0.1', '10.0.0.2', 51234, 443, 0, '1:3Wq31B/svcJh3Oj7C0+oub5devI='],
  [6, '10.0.0.2', '10.0.0.1', 443, 51234, 0, '1:3Wq31B/svcJh3Oj7C0+oub5devI='],
  [6, '192.168.1.100', '10.1.2.3', 0, 65535, 0, '1:AwB8tHZ86MLm2H8PsUTsBHM/efw='],
  [6, '10.1.2.3', '192.168.1.100', 65535, 0, 0, '1:AwB8tHZ86MLm2H8PsUTsBHM/efw='],
  [17, '172.16.5.4', '8.8.4.4', 65535, 53, 0, '1:As5lEhCVkpP8v9UUr0R2j7/qfHc='],
  [17, '8.8.4.4', '172.16.5.4', 53, 65535, 0, '1:As5lEhCVkpP8v9UUr0R2j7/qfHc='],
  [17, '10.0.0.1', '10.0.0.1', 1234, 80, 0, '1:QExb2r4moBdHPafLprw81DYc4Fg='],
  [17, '10.0.0.1', '10.0.0.1', 80, 1234, 0, '1:QExb2r4moBdHPafLprw81DYc4Fg='],
  [132, '10.9.8.7', '10.9.8.6', 2905, 2905, 0, '1:mtcSZEe9CCuwuBnSMfm3gHBp6qU='],
  [132, '10.9.8.6', '10.9.8.7', 2905, 2905, 0, '1:mtcSZEe9CCuwuBnSMfm3gHBp6qU='],
  [6, '2001:db8::1', '2001:db8::2', 443, 51234, 0, '1:jH3YQ7JjtTeTvlWg+lv7Ckq7/gc='],
  [6, '2001:db8::2', '2001:db8::1', 51234, 443, 0, '1:jH3YQ7JjtTeTvlWg+lv7Ckq7/gc='],
  [6, '2001:0db8:0000:0000:0000:0000:0000:00ff', 'fe80:0000:0000:0000:0200:86ff:fe05:80da', 22, 60000, 0, '1:u0v0ReTa5GuvKTOZCRR/ZoBp9Zo='],
  [6, 'fe80:0000:0000:0000:0200:86ff:fe05:80da', '2001:0db8:0000:0000:0000:0000:0000:00ff', 60000, 22, 0, '1:u0v0ReTa5GuvKTOZCRR/ZoBp9Zo='],
  [17, '::ffff:10.0.0.1', '::ffff:10.0.0.2', 5353, 5353, 0, '1:krfsqLF9gOQ6HvvilX6OwXvqqfs='],
  [17, '::ffff:10.0.0.2', '::ffff:10.0.0.1', 5353, 5353, 0, '1:krfsqLF9gOQ6HvvilX6OwXvqqfs='],
  [17, '::1', '::', 0, 0, 0, '1:HmADQnubydOU9N5q6r/3Jjh1uIk='],
  [17, '::', '::1', 0, 0, 0, '1:HmADQnubydOU9N5q6r/3Jjh1uIk='],
  [132, '2001:db8:1::1:0:0:1', '2001:db8:1:0:1::1', 36412, 36412, 0, '1:tO+1nbelfKSZ//pwDkBmk7v5wwM='],
  [132, '2001:db8:1:0:1::1', '2001:db8:1::1:0:0:1', 36412, 36412, 0, '1:tO+1nbelfKSZ//pwDkBmk7v5wwM='],
  [1, '192.168.0.89', '192.168.0.1', 8, 0, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk='],
  [1, '192.168.0.1', '192.168.0.89', 0, 0, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk='],
  [1, '10.0.0.2', '10.0.0.1', 13, 0, 0, '1:th9CqcxflNss8X17pecPidKDzKw='],
  [1, '10.0.0.1', '10.0.0.2', 14, 0, 0, '1:th9CqcxflNss8X17pecPidKDzKw='],
  [1, '10.0.0.1', '10.0.0.2', 3, 1, 0, '1:gkoOC4ouXvyYq0Ek/WqwbLoqcxM='],
  [1, '10.0.0.2', '10.0.0.1', 3, 1, 0, '1:JHjlyD5IJJjl3wHWOMj46lLWZag='],
  [1, '10.0.0.9', '10.0.0.1', 11, 0, 0, '1:oFLj5mYMjxTDpzNKh2pHbIrmABs='],
  [1, '10.0.0.9', '10.0.0.1', 20, 255, 0, '1:z5qLOuNX3IbMRZNfYN73aeb06Xw='],
  [58, '2001:db8::9', '2001:db8::1', 128, 0, 0, '1:hQiq3bYCRxwGBxMh6mQ6xHiSIzk='],
  [58, '2001:db8::1', '2001:db8::9', 129, 0, 0, '1:hQiq3bYCRxwGBxMh6mQ6xHiSIzk='],
  [58, 'fe80::2', 'fe80::1', 135, 0, 0, '1:jXSMIMhnMomSaIrNtEPXqYE5Rc4='],
  [58, 'fe80::1', 'fe80::2', 136, 0, 0, '1:jXSMIMhnMomSaIrNtEPXqYE5Rc4='],
  [58, '2001:db8::9', '2001:db8::1', 1, 4, 0, '1:ASui7IJLN62GLqSkUY/QjGQPoxA='],
  [58, '2001:db8::1', '2001:db8::9', 1, 4, 0, '1:hdxU//lm1JZ8AvQ1WDHPOmJ0Wxk='],
  [58, 'fe80::1', 'ff02::1', 134, 0, 0, '1:Ilg4oMT5cEP8nHg384C0O3MLdD0='],
  [47, '10.0.0.1', '10.0.0.2', undefined, undefined, 0, '1:+KlEHDT0vJgzs/eNmzHq0aSpRYw='],
  [47, '10.0.0.2', '10.0.0.1', undefined, undefined, 0, '1:+KlEHDT0vJgzs/eNmzHq0aSpRYw='],
  [50, '2001:db8::a', '2001:db8::b', undefined, undefined, 0, '1:jRbMes+cxsNS7UPD2LITMYxhRFk='],
  [50, '2001:db8::b', '2001:db8::a', undefined, undefined, 0, '1:jRbMes+cxsNS7UPD2LITMYxhRFk='],
  [0, '1.1.1.1', '2.2.2.2', undefined, undefined, 0, '1:KfvtSpipKHB4bnwFU/fs/7Qsibk='],
  [255, '255.255.255.255', '0.0.0.0', undefined, undefined, 0, '1:/CHcNz7elzGxXgOu4UglODlYyBc='],
  [6, '10.0.0.1', '10.0.0.2', 51234, 443, 4242, '1:TEqL6cXF/jhkK/oco1+iLWzA4t0='],
  [6, '192.168.1.100', '10.1.2.3', 0, 65535, 4242, '1:0SFZusgdED9X7tFOJNtEynZhe1Y='],
  [17, '172.16.5.4', '8.8.4.4', 65535, 53, 4242, '1:tqYK+SLsxFAA8QpHMSZ/G8Jjj/Y='],
  [17, '10.0.0.1', '10.0.0.1', 1234, 80, 4242, '1:VOIyDzFDC2+9wcbpHxbfaBFzRZY='],
  [132, '10.9.8.7', '10.9.8.6', 2905, 2905, 4242, '1:3nGsvZQXOJsj+j1u0dA4ioh29cY='],
  [6, '2001:db8::1', '2001:db8::2', 443, 51234, 4242, '1:qhgLdgvL9ECwnLP/76wOth62Jgs='],
  [6, '2001:0db8:0000:0000:0000:0000:0000:00ff', 'fe80:0000:0000:0000:0200:86ff:fe05:80da', 22, 60000, 4242, '1:vXXc2xtIMXETdbMqvm2tMmDqKJg='],
  [17, '::ffff:10.0.0.1', '::ffff:10.0.0.2', 5353, 5353, 4242, '1:acOo1dmrjgQvAPtd6FUhqtQo2YY='],
  [17, '::1', '::', 0, 0, 4242, '1:kETxlTPqhH3bA/98w3GOSW43v+0='],
  [132, '2001:db8:1::1:0:0:1', '2001:db8:1:0:1::1', 36412, 36412, 4242, '1:WcVDLLoH3Rjb5L3kjotvKa1coc0='],
  [1, '192.168.0.89', '192.168.0.1', 8, 0, 4242, '1:bblfLBaH0u+VXeCp7E4T/+Gdum8='],
  [1, '10.0.0.2', '10.0.0.1', 13, 0, 4242, '1:lF+KRp/UQNmchM6dclyc8a6qjlc='],
  [1, '10.0.0.1', '10.0.0.2', 3, 1, 4242, '1:Ihxd8VWO3q4v2Xm/iQ8ERleDpjw='],
  [1, '10.0.0.9', '10.0.0.1', 11, 0, 4242, '1:vVYEKFNsCyKHqaPBlhBfG1XkMCc='],
  [58, '2001:db8::9', '2001:db8::1', 128, 0, 4242, '1:cOcHjzWG3zPVeRFMQU5AR59nA5k='],
  [58, 'fe80::2', 'fe80::1', 135, 0, 4242, '1:xd0Pa4zVoSInGNw7Eh6o82da9UM='],
  [58, '2001:db8::9', '2001:db8::1', 1, 4, 4242, '1:KZsfoMqCN9ZwngM72+7Ub/52Dlk='],
  [58, 'fe80::1', 'ff02::1', 134, 0, 4242, '1:ZbdUec7fCldBYMw27IpRx+xpi3Y='],
  [47, '10.0.0.2', '10.0.0.1', undefined, undefined, 4242, '1:2zWnwVBqAOIBKCj5WvOggJmQlZ0='],
  [50, '2001:db8::b', '2001:db8::a', undefined, undefined, 4242, '1:sHFRlMAiIFfLnFBCUU6cxtbJ3Go='],
  [255, '255.255.255.255', '0.0.0.0', undefined, undefined, 4242, '1:6KDNBbxVJVu+JDXCaxgSPr3qHVk='],
  [6, '10.0.0.1', '10.0.0.2', 51234, 443, 65535, '1:lZ8lGx4dRc0tjVT/AcPyS7vZ0l0='],
  [6, '10.0.0.2', '10.0.0.1', 443, 51234, 65535, '1:lZ8lGx4dRc0tjVT/AcPyS7vZ0l0='],
  [6, '192.168.1.100', '10.1.2.3', 0, 65535, 65535, '1:VP7mF3xtsdRZy0diF65vszwMjM8='],
  [6, '10.1.2.3', '192.168.1.100', 65535, 0, 65535, '1:VP7mF3xtsdRZy0diF65vszwMjM8='],
];

describe('communityId', () => {
  it.each(SPEC_BASELINE.map((row) => [describeRow(row.slice(0, 5) as FlowRow, 0), row] as const))(
    'matches the spec baseline: %s',
    (_name, [proto, srcIp, dstIp, a, b, seed0, seed1]) => {
      const tuple = tupleOf([proto, srcIp, dstIp, a, b]);
      expect(communityId(tuple)).toBe(seed0);
      expect(communityId(tuple, 1)).toBe(seed1);
    },
  );

  it.each(PACKAGE_VECTORS.map((row) => [describeRow(row.slice(0, 5) as FlowRow, 0), row] as const))(
    "matches the reference package's own vectors: %s",
    (_name, [proto, srcIp, dstIp, a, b, seed0, seed1]) => {
      const tuple = tupleOf([proto, srcIp, dstIp, a, b]);
      expect(communityId(tuple)).toBe(seed0);
      expect(communityId(tuple, 1)).toBe(seed1);
    },
  );

  it.each(REFERENCE_TABLE.map((row) => [describeRow(row.slice(0, 5) as FlowRow, row[5]), row] as const))(
    'matches the reference implementation: %s',
    (_name, [proto, srcIp, dstIp, a, b, seed, expected]) => {
      expect(communityId(tupleOf([proto, srcIp, dstIp, a, b]), seed)).toBe(expected);
    },
  );

  it('defaults the seed to 0', () => {
    const flow: FlowTuple = { proto: 6, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 51234, dstPort: 443 };
    expect(communityId(flow)).toBe(communityId(flow, 0));
    expect(communityId(flow, 1)).not.toBe(communityId(flow));
  });

  it('hashes other protocols without ports, even when a caller passes some', () => {
    const gre: FlowTuple = { proto: 47, srcIp: '10.0.0.1', dstIp: '10.0.0.2' };
    expect(communityId({ ...gre, srcPort: 1, dstPort: 2 })).toBe(communityId(gre));
  });

  it.each<[string, FlowTuple, number?]>([
    ['a TCP flow without ports', { proto: 6, srcIp: '10.0.0.1', dstIp: '10.0.0.2' }],
    ['a UDP flow with one port', { proto: 17, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 53 }],
    ['port 65536', { proto: 6, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 65536, dstPort: 80 }],
    ['a negative port', { proto: 132, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: -1, dstPort: 80 }],
    ['a fractional port', { proto: 6, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 80.5, dstPort: 80 }],
    ['ICMP without a code', { proto: 1, srcIp: '10.0.0.1', dstIp: '10.0.0.2', icmpType: 8 }],
    ['ICMP type 256', { proto: 1, srcIp: '10.0.0.1', dstIp: '10.0.0.2', icmpType: 256, icmpCode: 0 }],
    ['protocol 256', { proto: 256, srcIp: '10.0.0.1', dstIp: '10.0.0.2' }],
    ['an IPv4 and an IPv6 end', { proto: 47, srcIp: '10.0.0.1', dstIp: '::ffff:10.0.0.2' }],
    ['a host name', { proto: 47, srcIp: 'example.org', dstIp: '10.0.0.2' }],
    ['an IPv6 zone index', { proto: 47, srcIp: 'fe80::1%eth0', dstIp: 'fe80::2' }],
    ['seed 65536', { proto: 47, srcIp: '10.0.0.1', dstIp: '10.0.0.2' }, 65536],
  ])('refuses %s', (_name, flow, seed) => {
    expect(() => communityId(flow, seed)).toThrow(RangeError);
  });
});

describe('ipAddressBytes', () => {
  it.each([
    ['10.1.2.3', '0a010203'],
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::', '20010db8000000000000000000000000'],
    ['2001:0db8:0000:0000:0000:0000:0000:00ff', '20010db80000000000000000000000ff'],
    ['2001:db8:1::1:0:0:1', '20010db8000100000001000000000001'],
    ['fe80::200:86ff:fe05:80da', 'fe80000000000000020086fffe0580da'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
  ])('reads %s as network-order bytes', (text, hex) => {
    expect(ipAddressBytes(text).toString('hex')).toBe(hex);
  });

  it.each(['', '10.0.0', '010.0.0.1', '1::2::3', '2001:db8::g', 'fe80::1%eth0', ' 10.0.0.1'])('refuses %j', (text) => {
    expect(() => ipAddressBytes(text)).toThrow(RangeError);
  });
});
