using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// The committed objects the backend serves (the records on disk, as loaded at start and changed since) plus what
/// operations in flight have reserved: capacity for a volume being created or grown, an attach slot for a volume
/// being attached. One short lock guards it all, never held across I/O, so readers (Get, List) never wait for a copy;
/// each object's changes are serialised by its own key in <see cref="LocalVolumeProvider"/>, and the reservations
/// keep the capacity and attach-limit checks exact while other volumes change at the same time.
/// </summary>
internal sealed class LocalCatalog
{
    private readonly Lock _sync = new();
    private Dictionary<string, LocalVolumeRecord> _volumes = new(StringComparer.Ordinal);
    private Dictionary<string, LocalSnapshotRecord> _snapshots = new(StringComparer.Ordinal);
    private Dictionary<string, LocalGroupSnapshotRecord> _groups = new(StringComparer.Ordinal);
    private long _reservedBytes;
    private readonly Dictionary<string, int> _reservedAttachSlots = new(StringComparer.Ordinal);

    /// <summary>Replaces everything with what the start-up recovery loaded.</summary>
    public void Load(Dictionary<string, LocalVolumeRecord> volumes, Dictionary<string, LocalSnapshotRecord> snapshots,
        Dictionary<string, LocalGroupSnapshotRecord> groups)
    {
        lock (_sync)
        {
            _volumes = new Dictionary<string, LocalVolumeRecord>(volumes, StringComparer.Ordinal);
            _snapshots = new Dictionary<string, LocalSnapshotRecord>(snapshots, StringComparer.Ordinal);
            _groups = new Dictionary<string, LocalGroupSnapshotRecord>(groups, StringComparer.Ordinal);
        }
    }

    public LocalVolumeRecord? Volume(string volumeId) => Locked(() => _volumes.GetValueOrDefault(volumeId));

    public LocalSnapshotRecord? Snapshot(string snapshotId) => Locked(() => _snapshots.GetValueOrDefault(snapshotId));

    public LocalGroupSnapshotRecord? Group(string groupSnapshotId) => Locked(() => _groups.GetValueOrDefault(groupSnapshotId));

    /// <summary>Every volume, sorted by id: a consistent view at one moment.</summary>
    public List<LocalVolumeRecord> Volumes() => Locked(() => _volumes.Values.OrderBy(v => v.VolumeId, StringComparer.Ordinal).ToList());

    /// <summary>Every snapshot, sorted by id.</summary>
    public List<LocalSnapshotRecord> Snapshots() => Locked(() => _snapshots.Values.OrderBy(s => s.SnapshotId, StringComparer.Ordinal).ToList());

    /// <summary>Adds or replaces a volume; releases the reservation that was held for it in the same step.</summary>
    public void Put(LocalVolumeRecord record, Reservation? heldFor = null) => Locked(() =>
    {
        _volumes[record.VolumeId] = record;
        heldFor?.ReleaseLocked();
        return true;
    });

    public bool RemoveVolume(string volumeId) => Locked(() => _volumes.Remove(volumeId));

    public void Put(LocalSnapshotRecord record) => Locked(() => _snapshots[record.SnapshotId] = record);

    public bool RemoveSnapshot(string snapshotId) => Locked(() => _snapshots.Remove(snapshotId));

    public void Put(LocalGroupSnapshotRecord record) => Locked(() => _groups[record.GroupSnapshotId] = record);

    public bool RemoveGroup(string groupSnapshotId) => Locked(() => _groups.Remove(groupSnapshotId));

    /// <summary>Volumes recorded as attached to the node (reservations not counted).</summary>
    public long AttachedTo(string nodeId) => Locked(() => AttachedToLocked(nodeId));

    /// <summary>
    /// Reserves bytes of the backend's capacity (0 = unlimited) for a volume being made or grown; whatever is
    /// committed and reserved counts. Full → RESOURCE_EXHAUSTED. Dispose (or <see cref="Put(LocalVolumeRecord, Reservation)"/>) releases it.
    /// </summary>
    public Reservation ReserveCapacity(long bytes, long capacityBytes)
    {
        lock (_sync)
        {
            if (capacityBytes > 0)
            {
                var used = _volumes.Values.Sum(v => v.CapacityBytes) + _reservedBytes;
                if (used + bytes > capacityBytes)
                {
                    throw StorageException.ResourceExhausted(
                        $"the local backend has {capacityBytes - used} of {capacityBytes} bytes left; {bytes} requested");
                }
            }
            _reservedBytes += bytes;
            return new Reservation(this, () => _reservedBytes -= bytes);
        }
    }

    /// <summary>Reserves one of the node's attach slots for a volume being attached; all taken → RESOURCE_EXHAUSTED.</summary>
    public Reservation ReserveAttachSlot(string nodeId, long maxVolumesPerNode)
    {
        lock (_sync)
        {
            var pending = _reservedAttachSlots.GetValueOrDefault(nodeId);
            if (AttachedToLocked(nodeId) + pending >= maxVolumesPerNode)
            {
                throw StorageException.ResourceExhausted($"node {nodeId} already has {maxVolumesPerNode} volumes attached, its limit");
            }
            _reservedAttachSlots[nodeId] = pending + 1;
            return new Reservation(this, () =>
            {
                if (--_reservedAttachSlots[nodeId] == 0)
                {
                    _reservedAttachSlots.Remove(nodeId);
                }
            });
        }
    }

    private long AttachedToLocked(string nodeId) => _volumes.Values.Count(v => v.Attachment?.NodeId == nodeId);

    private T Locked<T>(Func<T> read)
    {
        lock (_sync)
        {
            return read();
        }
    }

    /// <summary>Something held back for an operation in flight; released once, by dispose or when its result is put.</summary>
    public sealed class Reservation(LocalCatalog owner, Action release) : IDisposable
    {
        private bool _released;

        public void Dispose()
        {
            lock (owner._sync)
            {
                ReleaseLocked();
            }
        }

        internal void ReleaseLocked()
        {
            if (!_released)
            {
                _released = true;
                release();
            }
        }
    }
}
