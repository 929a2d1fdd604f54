using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Keyset pagination over a list sorted by id: the token is the last id of the previous page, and the next
/// page starts after it. Deleting or adding objects between pages never shifts a page (the spec allows
/// misses and duplicates, this has neither for objects that stay). A token that is not an id → ABORTED.
/// </summary>
internal static class LocalPaging
{
    public static Page<TOut> Paginate<TIn, TOut>(List<TIn> sorted, Func<TIn, string> idOf, Func<string, bool> isId,
        int maxEntries, string? startingToken, Func<TIn, TOut> map)
    {
        IEnumerable<TIn> rest = sorted;
        if (!string.IsNullOrEmpty(startingToken))
        {
            if (!isId(startingToken))
            {
                throw StorageException.Aborted($"starting_token '{InputEcho.Of(startingToken)}' was not issued by this listing; list again from the start");
            }
            rest = sorted.Where(item => string.CompareOrdinal(idOf(item), startingToken) > 0);
        }
        var remaining = rest.ToList();
        var count = maxEntries > 0 ? Math.Min(maxEntries, remaining.Count) : remaining.Count;
        var page = remaining.Take(count).ToList();
        var next = count < remaining.Count ? idOf(page[^1]) : null;
        return new Page<TOut>(page.Select(map).ToList(), next);
    }
}
