// IP addresses and CIDR ranges as numbers, not text: parsed strictly, compared by address, written back canonically.
//
// The BLOCKED_IPS setting and the stand-in app's matching share it, so what the config accepts is what the app blocks.
// An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 client it maps, as a dual-stack server sees it.
import { isIPv6 } from "node:net";

export type IpFamily = 4 | 6;

/** One address: its family and its value (32 or 128 bits). */
export interface IpAddress {
    readonly family: IpFamily;
    readonly value: bigint;
}

/** A range: its first address and its prefix length; a single address has the full prefix (32 or 128). */
export interface IpNetwork extends IpAddress {
    readonly prefix: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };
const IPV4 =
    /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Dotted decimal with no leading zeros (010.0.0.1 is refused: some parsers read it as octal). */
function parseIpv4(text: string): bigint | undefined {
    const match = IPV4.exec(text);
    if (!match) return undefined;
    return match.slice(1).reduce((value, octet) => (value << 8n) | BigInt(octet), 0n);
}

/** Any RFC 4291 text form (compressed, with an embedded IPv4 tail); no zone index. */
function parseIpv6(text: string): bigint | undefined {
    if (!isIPv6(text) || text.includes("%")) return undefined;
    let body = text;
    if (body.includes(".")) {
        const cut = body.lastIndexOf(":");
        const tail = parseIpv4(body.slice(cut + 1));
        if (tail === undefined) return undefined;
        body = `${body.slice(0, cut + 1)}${(tail >> 16n).toString(16)}:${(tail & 0xffffn).toString(16)}`;
    }
    const halves = body.split("::");
    const left = halves[0] === "" ? [] : halves[0].split(":");
    const right = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
    const groups = halves.length === 2 ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right] : left;
    if (groups.length !== 8 || groups.some((group) => !/^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
    return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** The address `text` names, strictly; an IPv4-mapped IPv6 address is returned as its IPv4 address. */
export function parseAddress(text: string): IpAddress | undefined {
    const v4 = parseIpv4(text);
    if (v4 !== undefined) return { family: 4, value: v4 };
    const v6 = parseIpv6(text);
    if (v6 === undefined) return undefined;
    return v6 >> 32n === 0xffffn ? { family: 4, value: v6 & 0xffffffffn } : { family: 6, value: v6 };
}

function mask(family: IpFamily, prefix: number): bigint {
    const bits = BITS[family];
    return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/** What `text` says as written: an address or `address/prefix`, host bits kept, or why it is neither. */
export type WrittenNetwork =
    | { readonly address: IpAddress; readonly prefix: number; readonly problem?: undefined }
    | { readonly problem: string };

/**
 * Reads `address` or `address/prefix` as written (host bits kept, for the caller to judge). A prefix on an IPv4-mapped
 * IPv6 address counts its IPv4 bits (::ffff:10.0.0.0/104 is 10.0.0.0/8).
 */
export function readNetwork(text: string): WrittenNetwork {
    const slash = text.indexOf("/");
    const addressText = slash < 0 ? text : text.slice(0, slash);
    const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
    const notOne = `${JSON.stringify(text)} is not an IPv4/IPv6 address or CIDR range`;
    const v6 = parseIpv6(addressText);
    const mapped = v6 !== undefined && v6 >> 32n === 0xffffn;
    const address = parseAddress(addressText);
    if (!address) return { problem: notOne };
    if (prefixText === undefined) return { address, prefix: BITS[address.family] };
    if (!/^\d{1,3}$/.test(prefixText)) return { problem: notOne };
    let prefix = Number(prefixText);
    if (mapped) {
        if (prefix < 96) return { problem: `${notOne} (an IPv4-mapped range is ::ffff:a.b.c.d/96 to /128)` };
        prefix -= 96;
    }
    if (prefix > BITS[address.family]) {
        return { problem: `${notOne} (an IPv${address.family} prefix is /0 to /${BITS[address.family]})` };
    }
    return { address, prefix };
}

/** The range a written network covers, host bits cleared (as an app reading `10.0.0.1/8` leniently would). */
export function networkOf(address: IpAddress, prefix: number): IpNetwork {
    return { family: address.family, value: address.value & mask(address.family, prefix), prefix };
}

/** Whether `address` is inside `network`. */
export function contains(network: IpNetwork, address: IpAddress): boolean {
    return (
        network.family === address.family && (address.value & mask(network.family, network.prefix)) === network.value
    );
}

/** RFC 5952 text for an IPv6 value: lower case, no leading zeros, the longest run of two or more zero groups as "::". */
function formatIpv6(value: bigint): string {
    const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
    let bestStart = -1;
    let bestLength = 1;
    for (let i = 0; i < 8;) {
        if (groups[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && groups[j] === 0) j++;
        if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
        i = j;
    }
    const hex = groups.map((group) => group.toString(16));
    if (bestStart < 0) return hex.join(":");
    return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** The canonical text of an address: dotted decimal, or RFC 5952 for IPv6. */
export function formatAddress(address: IpAddress): string {
    if (address.family === 6) return formatIpv6(address.value);
    return [24n, 16n, 8n, 0n].map((shift) => String((address.value >> shift) & 0xffn)).join(".");
}

/** The canonical text of a network: the bare address for a single one, else `address/prefix`. */
export function formatNetwork(network: IpNetwork): string {
    const address = formatAddress(network);
    return network.prefix === BITS[network.family] ? address : `${address}/${network.prefix}`;
}

/** The number of bits of an address of this family. */
export function addressBits(family: IpFamily): number {
    return BITS[family];
}

/**
 * True for a host on this machine's loopback: an address in 127.0.0.0/8, ::1 (bracketed or not, IPv4-mapped or not),
 * or the name localhost. Any other name is not, whatever it resolves to today.
 */
export function isLoopbackHost(host: string): boolean {
    const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
    if (bare.toLowerCase() === "localhost") return true;
    const address = parseAddress(bare);
    if (!address) return false;
    return address.family === 4 ? address.value >> 24n === 127n : address.value === 1n;
}
