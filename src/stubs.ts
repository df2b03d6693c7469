/** Which Durable Object serves what: one AccountRoom per (tenant, account), one Directory per tenant. */

// "/" cannot occur in a tenant or account id, so the name is unambiguous.
export const roomStub = (env: Env, tenant: string, accountId: string) =>
  env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`${tenant}/${accountId}`));

export const directoryStub = (env: Env, tenant: string) => env.DIRECTORY.get(env.DIRECTORY.idFromName(tenant));
