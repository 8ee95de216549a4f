/* Regret bookkeeping against a comparator sequence. */
#include "stochopt/online.h"

void so_regret_add(so_regret *r, double learner_loss, double comparator_loss)
{
    r->rounds++;
    r->learner += learner_loss;
    r->comparator += comparator_loss;
}

double so_regret_value(const so_regret *r)
{
    return r->learner - r->comparator;
}
