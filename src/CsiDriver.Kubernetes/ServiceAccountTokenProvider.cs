using System.Net.Http.Headers;
using k8s.Authentication;

namespace CsiDriver.Kubernetes;

/// <summary>
/// The bearer token, read from the token file on every call: projected service account tokens rotate, and the
/// driver makes a handful of calls, so there is nothing to cache (the library's TokenFileAuth caches for a minute).
/// </summary>
internal sealed class ServiceAccountTokenProvider(KubernetesApiOptions options) : ITokenProvider
{
    public async Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken)
    {
        var token = options.TokenPath is null
            ? options.Token
            : (await File.ReadAllTextAsync(options.TokenPath, cancellationToken).ConfigureAwait(false)).Trim();
        return new AuthenticationHeaderValue("Bearer", token);
    }
}
