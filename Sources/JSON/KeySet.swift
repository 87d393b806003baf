/// The keys seen so far in one object, to reject duplicates (`JSONParser`'s policy).
///
/// Keys compare byte for byte (JSON and Python compare code points; Swift's `==` would call precomposed and
/// decomposed "é" equal). Small objects scan their members; past `linearLimit` keys an open-addressing table of
/// FNV-1a hashes takes over, because the 248k-entry vocab of `tokenizer.json` must not cost a `Dictionary`
/// insert (SipHash) per key: that was most of the parse-time cost of the check.
struct KeySet {
    private static let linearLimit = 16
    /// Slot → 1 + member index (0 = empty); power-of-two size, at most half full.
    private var slots: [Int32] = []
    private var hashes: [UInt64] = []

    /// Adds `key` (about to become `members[index]`); false when an earlier member has the same key.
    mutating func insert(_ key: String, index: Int, members: [(String, JSONValue)]) -> Bool {
        func same(_ i: Int) -> Bool { members[i].0.utf8.elementsEqual(key.utf8) }
        if index < Self.linearLimit {
            if members.contains(where: { $0.0.utf8.count == key.utf8.count && $0.0.utf8.elementsEqual(key.utf8) }) { return false }
            if index == Self.linearLimit - 1 {
                hashes = members.map { Self.fnv1a($0.0) } + [Self.fnv1a(key)]
                rebuild(capacity: 64)
            }
            return true
        }
        let h = Self.fnv1a(key)
        var slot = Int(truncatingIfNeeded: h) & (slots.count - 1)
        while slots[slot] != 0 {
            let i = Int(slots[slot]) - 1
            if hashes[i] == h && same(i) { return false }
            slot = (slot + 1) & (slots.count - 1)
        }
        slots[slot] = Int32(truncatingIfNeeded: index + 1)
        hashes.append(h)
        if hashes.count * 2 > slots.count { rebuild(capacity: slots.count * 2) }
        return true
    }

    private mutating func rebuild(capacity: Int) {
        slots = [Int32](repeating: 0, count: capacity)
        let mask = capacity - 1
        for (i, h) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: h) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(truncatingIfNeeded: i + 1)
        }
    }

    private static func fnv1a(_ s: String) -> UInt64 {
        var s = s
        return s.withUTF8 { bytes in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            // Final mix: the table indexes by the low bits, which plain FNV leaves weak for short keys.
            h ^= h >> 32
            h &*= 0xd6e8_feb8_6659_fd93
            return h ^ (h >> 32)
        }
    }
}
