#include "train/optim.h"

#include <math.h>

adamw_config adamw_defaults(double lr)
{
    adamw_config c = {lr, 0.9, 0.999, 1e-8, 1e-2};
    return c;
}

void adamw_step(float *param, const float *grad, float *m, float *v, size_t n, int64_t step, float lr,
                const adamw_config *cfg, const uint8_t *decay_mask)
{
    /* Coefficients in double, then rounded once, as PyTorch does with its Python-float hyper-parameters. */
    const float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2;
    const float c1 = (float)(1.0 - cfg->beta1), c2 = (float)(1.0 - cfg->beta2), eps = (float)cfg->eps;
    const double bc1 = 1.0 - pow(cfg->beta1, (double)step), bc2 = 1.0 - pow(cfg->beta2, (double)step);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float decay = (float)(1.0 - (double)lr * cfg->weight_decay);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float p = param[i];
        if (!decay_mask || decay_mask[i])
            p *= decay;
        float g = grad[i];
        float mi = b1 * m[i] + c1 * g;
        float vi = b2 * v[i] + c2 * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        param[i] = p - step_size * mi / denom;
    }
}

double lr_cosine_warmup(int64_t step, int64_t total, int64_t warmup, double base, double min_lr)
{
    if (warmup > 0 && step < warmup)
        return base * (double)(step + 1) / (double)warmup;
    if (total <= warmup)
        return base;
    double t = (double)(step - warmup) / (double)(total - warmup);
    if (t > 1.0)
        t = 1.0;
    return min_lr + 0.5 * (base - min_lr) * (1.0 + cos(M_PI * t));
}

double grad_global_norm(const float *g, size_t n)
{
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * (double)g[i];
    return sqrt(s);
}

double grad_clip_global_norm(float *g, size_t n, double max_norm)
{
    double norm = grad_global_norm(g, n);
    if (max_norm > 0 && norm > max_norm) {
        float f = (float)(max_norm / (norm + 1e-6));
        for (size_t i = 0; i < n; i++)
            g[i] *= f;
    }
    return norm;
}
